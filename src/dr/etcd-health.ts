/**
 * The embedded etcd as the Kubernetes API shows it: members are the nodes K3s labels
 * `node-role.kubernetes.io/etcd=true`, each with the member name and peer address K3s annotates
 * (`etcd.k3s.cattle.io/node-name`, `…/node-address`) and the `EtcdIsVoter` condition K3s keeps
 * (True: voting member; False: learner, unhealthy or not a member — the reason says which);
 * the datastore's health is the API server's own `/readyz/etcd` check.
 */
import { KubeApiError, type KubeClient } from "../kube/client.js";
import type { NodeObject } from "./status.js";

export const ETCD_ROLE_LABEL = "node-role.kubernetes.io/etcd";
export const ETCD_NODE_NAME_ANNOTATION = "etcd.k3s.cattle.io/node-name";
export const ETCD_NODE_ADDRESS_ANNOTATION = "etcd.k3s.cattle.io/node-address";
export const ETCD_VOTER_CONDITION = "EtcdIsVoter";

export interface EtcdMember {
  node: string;
  member: string;
  address: string;
  /** voter, learner, unhealthy, not-a-member, unknown (no condition yet) */
  state: string;
  message?: string | undefined;
}

export interface EtcdStatus {
  /** The API server's /readyz/etcd: "ok" or what it said. */
  health: string;
  healthy: boolean;
  members: EtcdMember[];
  voters: number;
  /** Voters needed for quorum. */
  quorum: number;
  warnings: string[];
}

const STATES: Record<string, string> = {
  MemberNotLearner: "voter",
  MemberIsLearner: "learner",
  Unhealthy: "unhealthy",
  NotAMember: "not-a-member",
};

export function etcdMembers(nodes: readonly NodeObject[]): EtcdMember[] {
  return nodes
    .filter((n) => n.metadata.labels?.[ETCD_ROLE_LABEL] === "true")
    .map((n) => {
      const condition = n.status?.conditions?.find((c) => c.type === ETCD_VOTER_CONDITION) as
        | { status: string; reason?: string; message?: string }
        | undefined;
      const state = !condition
        ? "unknown"
        : condition.status === "True"
          ? "voter"
          : (STATES[condition.reason ?? ""] ?? (condition.reason || "not-voting"));
      return {
        node: n.metadata.name as string,
        member: n.metadata.annotations?.[ETCD_NODE_NAME_ANNOTATION] ?? "",
        address: n.metadata.annotations?.[ETCD_NODE_ADDRESS_ANNOTATION] ?? "",
        state,
        message: condition?.message,
      };
    });
}

export async function etcdStatus(kube: KubeClient, nodes: readonly NodeObject[]): Promise<EtcdStatus> {
  let health: string;
  try {
    health = (await kube.request<string>("GET", "/readyz/etcd", { text: true, timeoutMs: 10_000 })).trim();
  } catch (error) {
    health =
      error instanceof KubeApiError ? error.message.replace(/^GET \S+ failed with /, "") : String(error);
  }
  const members = etcdMembers(nodes);
  const voters = members.filter((m) => m.state === "voter").length;
  const quorum = Math.floor(members.length / 2) + 1;
  const warnings: string[] = [];
  if (members.length > 0 && voters < quorum) {
    warnings.push(
      `only ${voters} of ${members.length} etcd members vote; quorum needs ${quorum}: recover the others (infra dr node-recovery NAME) or restore (infra dr restore-control-plane)`,
    );
  }
  if (members.length > 0 && members.length % 2 === 0) {
    warnings.push(`${members.length} etcd members: an even number tolerates no more failures than one fewer`);
  }
  for (const m of members.filter((m) => m.state !== "voter")) {
    warnings.push(`etcd member ${m.node} is ${m.state}${m.message ? ` (${m.message})` : ""}`);
  }
  return { health, healthy: health === "ok", members, voters, quorum, warnings };
}

export function renderEtcd(s: EtcdStatus): string[] {
  const lines = [
    `etcd: ${s.healthy ? "healthy" : `NOT healthy (${s.health})`}; ${s.members.length ? `${s.voters} of ${s.members.length} member(s) voting (quorum ${s.quorum})` : "no K3s etcd members labelled (external datastore, or not K3s)"}`,
  ];
  for (const m of s.members) {
    lines.push(
      `  ${m.node}: ${m.state}${m.address ? ` at ${m.address}` : ""}${m.member ? ` (member ${m.member})` : ""}`,
    );
  }
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines;
}
