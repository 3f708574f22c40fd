/**
 * The control plane's health for `infra status`: certificates, etcd, flannel routes. Each part is read
 * on its own; one that cannot be read says so and the others still show.
 */
import type { ClusterOptions } from "../backup/common.js";
import type { CommandContext } from "../context.js";
import type { KubeClient } from "../kube/client.js";
import { type CertificateStatus, certificateStatus, renderCertificates } from "./certificates.js";
import { type EtcdStatus, etcdStatus, renderEtcd } from "./etcd-health.js";
import { type MeshNodeStatus, meshStatus, renderMesh } from "./mesh-health.js";
import type { NodeObject } from "./status.js";

export interface HealthStatus {
  certificates: CertificateStatus;
  etcd: EtcdStatus;
  mesh: MeshNodeStatus[];
}

export async function healthStatus(
  ctx: CommandContext,
  options: ClusterOptions,
  kube: KubeClient,
  nodes: readonly NodeObject[],
): Promise<HealthStatus> {
  const [certificates, etcd] = await Promise.all([
    certificateStatus(ctx, { kubeconfig: options.kubeconfig, context: options.context }),
    etcdStatus(kube, nodes),
  ]);
  return { certificates, etcd, mesh: meshStatus(nodes) };
}

export function renderHealth(h: HealthStatus): string {
  return [...renderCertificates(h.certificates), ...renderEtcd(h.etcd), ...renderMesh(h.mesh)].join("\n");
}
