/**
 * cluster.yaml -> the files other layers consume (CONTRACT "shared data contracts"): the Ansible
 * inventory and cluster-wide vars, the OpenTofu variables and the cluster-values ConfigMap.
 * Pure and deterministic: same config, same bytes (fixed key order, no timestamps).
 */
import { basename } from "node:path";
import { Document } from "yaml";
import {
  acmeIssuer,
  agents,
  apiHostname,
  nodeSsh,
  nodeTags,
  r2EndpointHost,
  relativeName,
  servers,
  TUNNEL_ORIGIN_SERVICE,
  tunnelEnabled,
  tunnelHostnames,
  tunnelName,
  tunnelOriginTlsVerify,
  txtOwnerId,
  zoneName,
} from "../config/derived.js";
import type { ClusterConfig, NodeConfig } from "../config/schema.js";
import { ingressComponent, ingressComponentComment } from "./ingress.js";

export const RENDERED_FILES = {
  inventory: "ansible/inventory/hosts.yml",
  clusterVars: "ansible/inventory/group_vars/all/cluster.yml",
  tofuVars: "tofu/cluster.auto.tfvars.json",
  clusterValues: "kubernetes/cluster-values/values.yaml",
  ingressComponent: "kubernetes/cluster-values/ingress/kustomization.yaml",
} as const;

export interface RenderedFile {
  /** Path relative to the repository root, with forward slashes. */
  path: string;
  content: string;
}

export interface DnsRecord {
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  ttl: number;
}

/** The header every rendered file carries, naming its source. */
export function renderHeader(sourceFile: string): string {
  return `Rendered by \`infra configure\` from ${basename(sourceFile)} — do not edit; change cluster.yaml and re-run.`;
}

export function renderAll(config: ClusterConfig, sourceFile: string): RenderedFile[] {
  const header = renderHeader(sourceFile);
  return [
    { path: RENDERED_FILES.inventory, content: yamlFile(header, inventory(config)) },
    { path: RENDERED_FILES.clusterVars, content: yamlFile(header, clusterVars(config)) },
    { path: RENDERED_FILES.tofuVars, content: jsonFile(header, tofuVars(config)) },
    { path: RENDERED_FILES.clusterValues, content: yamlFile(header, clusterValues(config)) },
    {
      path: RENDERED_FILES.ingressComponent,
      content: yamlFile(header, ingressComponent(config), ingressComponentComment(config)),
    },
  ];
}

function yamlFile(header: string, data: unknown, comment?: string): string {
  const doc = new Document(data);
  doc.commentBefore = comment === undefined ? ` ${header}` : ` ${header}\n${comment}`;
  return doc.toString({ lineWidth: 0, indent: 2, indentSeq: true });
}

function jsonFile(header: string, data: Record<string, unknown>): string {
  return `${JSON.stringify({ "//": header, ...data }, null, 2)}\n`;
}

/** Host variables of one node (CONTRACT 1). */
export function hostVars(config: ClusterConfig, node: NodeConfig): Record<string, unknown> {
  const ssh = nodeSsh(config, node);
  const vars: Record<string, unknown> = { public_ip: node.publicIPv4 };
  if (node.tailscaleIPv4) vars.tailscale_ip = node.tailscaleIPv4;
  vars.ansible_user = ssh.user;
  vars.ansible_port = ssh.port;
  if (ssh.privateKeyFile) vars.ansible_ssh_private_key_file = ssh.privateKeyFile;
  vars.node_provider = node.provider;
  vars.node_region = node.region;
  if (node.instanceType) vars.node_instance_type = node.instanceType;
  vars.node_ingress = node.ingress;
  vars.node_labels = sortedRecord(node.labels);
  vars.node_taints = [...node.taints];
  return vars;
}

export function inventory(config: ClusterConfig): Record<string, unknown> {
  const group = (nodes: NodeConfig[]) =>
    nodes.length === 0
      ? {}
      : { hosts: Object.fromEntries(nodes.map((node) => [node.name, hostVars(config, node)])) };
  return {
    k3s_cluster: {
      children: {
        k3s_masters: group(servers(config)),
        k3s_workers: group(agents(config)),
      },
    },
  };
}

/** Cluster-wide Ansible variables (CONTRACT 2). */
export function clusterVars(config: ClusterConfig): Record<string, unknown> {
  return {
    cluster_name: config.name,
    cluster_domain: config.domain,
    k3s_version: config.k3s.version,
    k3s_cluster_cidr: config.k3s.clusterCidr,
    k3s_service_cidr: config.k3s.serviceCidr,
    k3s_api_hostname: apiHostname(config),
    ingress_mode: config.ingress.mode,
    // Each group's hosts get theirs (group_vars/k3s_masters.yml, k3s_workers.yml): the tailnet policy
    // tells servers and agents apart by these tags.
    tailscale_server_tags: nodeTags(config, "server"),
    tailscale_agent_tags: nodeTags(config, "agent"),
    tailscale_login_server: config.tailscale.loginServer ?? "",
    etcd_s3_enabled: config.backup.etcd.enabled,
    etcd_s3_endpoint: r2EndpointHost(config),
    etcd_s3_bucket: config.backup.bucket.name,
    etcd_s3_folder: config.backup.etcd.folder,
  };
}

/**
 * The records OpenTofu manages: k8s-api -> each server's Tailscale address (known ones only),
 * ingress -> each ingress node's public address, then the extra records of dns.records.
 */
export function dnsRecords(config: ClusterConfig): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (const node of servers(config)) {
    if (node.tailscaleIPv4) {
      records.push({
        name: relativeName(config, "k8s-api"),
        type: "A",
        content: node.tailscaleIPv4,
        proxied: false,
        ttl: 300,
      });
    }
  }
  for (const node of config.nodes) {
    if (node.ingress) {
      records.push({
        name: relativeName(config, "ingress"),
        type: "A",
        content: node.publicIPv4,
        proxied: false,
        ttl: 300,
      });
    }
  }
  for (const record of config.dns.records) {
    records.push({
      name: record.name,
      type: record.type,
      content: record.content,
      proxied: record.proxied,
      ttl: record.ttl,
    });
  }
  return records;
}

export interface R2Bucket {
  name: string;
  location: string | null;
  storage_class: string;
  jurisdiction: string;
}

export function r2Bucket(config: ClusterConfig): R2Bucket {
  const bucket = config.backup.bucket;
  return {
    name: bucket.name,
    location: bucket.location ?? null,
    storage_class: bucket.storageClass,
    jurisdiction: bucket.jurisdiction,
  };
}

export interface TunnelVars {
  name: string;
  /** Fully qualified names, or *.wildcards. */
  hostnames: string[];
  /** Where cloudflared sends every request (Traefik's HTTPS entrypoint). */
  origin_service: string;
  /** Whether cloudflared verifies the origin's certificate (production Let's Encrypt only). */
  origin_tls_verify: boolean;
}

/** The tunnel OpenTofu manages, or null in public mode. */
export function tunnelVars(config: ClusterConfig): TunnelVars | null {
  if (!tunnelEnabled(config)) return null;
  return {
    name: tunnelName(config),
    hostnames: tunnelHostnames(config),
    origin_service: TUNNEL_ORIGIN_SERVICE,
    origin_tls_verify: tunnelOriginTlsVerify(config),
  };
}

/** OpenTofu variables (CONTRACT 3). */
export function tofuVars(config: ClusterConfig): Record<string, unknown> {
  return {
    cluster_name: config.name,
    cloudflare_account_id: config.cloudflare.accountId,
    zone_name: zoneName(config),
    dns_records: dnsRecords(config),
    r2_bucket: r2Bucket(config),
    ingress_mode: config.ingress.mode,
    tunnel: tunnelVars(config),
  };
}

/** The data of the cluster-values ConfigMap, in CONTRACT 4 order. */
export function clusterValuesData(config: ClusterConfig): Record<string, string> {
  return {
    clusterName: config.name,
    domain: config.domain,
    wildcardDomain: `*.${config.domain}`,
    acmeEmail: config.acme.email,
    acmeIssuer: acmeIssuer(config),
    txtOwnerId: txtOwnerId(config),
    r2Bucket: config.backup.bucket.name,
    r2Endpoint: `https://${r2EndpointHost(config)}`,
    veleroPrefix: config.backup.velero.prefix,
    gitRepoURL: config.gitops.repoURL,
    gitRevision: config.gitops.revision,
    k3sVersion: config.k3s.version,
    backupDailySchedule: config.backup.velero.daily.schedule,
    backupDailyTTL: config.backup.velero.daily.ttl,
    backupCriticalSchedule: config.backup.velero.critical.schedule,
    backupCriticalTTL: config.backup.velero.critical.ttl,
  };
}

/** The cluster-values ConfigMap (CONTRACT 4); kustomize drops it from output (local-config). */
export function clusterValues(config: ClusterConfig): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "cluster-values",
      namespace: "argocd",
      annotations: { "config.kubernetes.io/local-config": "true" },
    },
    data: clusterValuesData(config),
  };
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
