/**
 * Would the new policy cut running nodes off the mesh? The policy opens the cluster's ports to the
 * role tags of cluster.yaml (serverTag, agentTag); a node already on the tailnet without its role
 * tag — a typo'd or renamed tag in cluster.yaml, a node joined by hand — gets nothing from it, and
 * the control server accepts such a policy (it cannot know which device is a cluster node).
 * infra can: a device whose host name is a node of cluster.yaml is that node.
 */
import type { ClusterConfig } from "../config/schema.js";
import { InfraError } from "../errors.js";
import type { Device } from "./control-server.js";

export interface CutOff {
  node: string;
  role: "server" | "agent";
  /** The role tag the policy opens the cluster's ports to, which the device lacks. */
  lacks: string;
  /** The tags the device carries now. */
  has: string[];
}

/** The nodes of cluster.yaml present on the tailnet without their role tag. */
export function nodesCutOff(config: ClusterConfig, devices: readonly Device[]): CutOff[] {
  const cutOff: CutOff[] = [];
  for (const node of config.nodes) {
    const device = devices.find((d) => d.name === node.name);
    if (!device) continue;
    const roleTag = node.role === "server" ? config.tailscale.serverTag : config.tailscale.agentTag;
    if (!device.tags.includes(roleTag))
      cutOff.push({ node: node.name, role: node.role, lacks: roleTag, has: [...device.tags].sort() });
  }
  return cutOff;
}

/**
 * "the new policy would cut 2 nodes on <server> off the cluster's ports: server-1 (tag:k8s; needs
 * tag:x), ..."; with `inForce`, "the policy in force cuts ...".
 */
export function describeCutOff(cutOff: readonly CutOff[], server: string, inForce = false): string {
  const nodes = cutOff
    .map((c) => `${c.node} (${c.has.length > 0 ? c.has.join(", ") : "no tags"}; needs ${c.lacks})`)
    .join(", ");
  const verb = inForce ? "the policy in force cuts" : "the new policy would cut";
  return `${verb} ${cutOff.length === 1 ? "a node" : `${cutOff.length} nodes`} on ${server} off the cluster's ports: ${nodes}`;
}

export function cutOffError(cutOff: readonly CutOff[], server: string): InfraError {
  return new InfraError("TAILNET_NODES_CUT_OFF", `${describeCutOff(cutOff, server)}; nothing was sent`, {
    kind: "preflight",
    hint: "if cluster.yaml's serverTag/agentTag is mistyped, fix it; to move the nodes to a new tag, re-tag them first (docs/networking.md), or pass --force to apply anyway",
  });
}
