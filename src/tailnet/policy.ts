/**
 * The tailnet access policy the cluster needs, generated from cluster.yaml: which devices reach
 * which K3s ports over the mesh, and nothing more (docs/networking.md, "The tailnet policy").
 * Pure and deterministic: the same config gives the same text.
 *
 * The policy is HuJSON in the shape Tailscale and headscale both read (`groups`, `tagOwners`,
 * `acls`, `ssh`, `tests`, `sshTests`). Each section holds one block between infra's markers
 * (markers.ts), so a user's own rules can sit beside it and survive `infra tailnet apply`.
 */
import { nodeSsh } from "../config/derived.js";

export { nodeTags } from "../config/derived.js";

import type { ClusterConfig } from "../config/schema.js";
import { type BlockSection, beginMarker, endMarker, SECTIONS } from "./markers.js";

/** K3s ports (stack notes 2.1): what crosses the mesh between nodes. */
export const PORTS = {
  etcd: "2379-2380",
  api: 6443,
  kubelet: 10250,
  vxlan: 8472,
  ingress: [80, 443],
} as const;

export interface AclRule {
  why: string;
  action: "accept";
  src: string[];
  proto: "tcp" | "udp";
  dst: string[];
}

export interface SshRule {
  why: string;
  action: "accept";
  src: string[];
  dst: string[];
  users: string[];
}

export interface PolicyTest {
  why: string;
  src: string;
  proto: "tcp" | "udp";
  accept?: string[];
  deny?: string[];
}

export interface SshTest {
  why: string;
  src: string;
  dst: string[];
  accept: string[];
}

/** The cluster's part of the policy, as data (`infra tailnet policy --json`). */
export interface ClusterPolicy {
  cluster: string;
  groups: Record<string, string[]>;
  tagOwners: Record<string, string[]>;
  acls: AclRule[];
  ssh: SshRule[];
  tests: PolicyTest[];
  sshTests: SshTest[];
}

/** Every tag the cluster's devices carry or its admins use: each must be owned in tagOwners. */
export function clusterTags(config: ClusterConfig): string[] {
  const { tags, serverTag, agentTag, admins } = config.tailscale;
  const adminTags = admins.filter((admin) => admin.startsWith("tag:"));
  return [...new Set([serverTag, agentTag, ...tags, ...adminTags])];
}

export function clusterPolicy(config: ClusterConfig): ClusterPolicy {
  const { serverTag: S, agentTag: A, admins, groups, tagOwners } = config.tailscale;
  const nodes = [S, A];
  const at = (tags: string[], ports: string | number | readonly number[]) => {
    const list = Array.isArray(ports) ? ports.join(",") : String(ports);
    return tags.map((tag) => `${tag}:${list}`);
  };
  // A test names one port per destination (Tailscale and headscale refuse lists there).
  const each = (tags: string[], ports: readonly (string | number)[]) =>
    ports.flatMap((port) => tags.map((tag) => `${tag}:${port}`));
  const sshPorts = [...new Set(config.nodes.map((node) => nodeSsh(config, node).port))].sort((a, b) => a - b);
  const sshUsers = [...new Set(config.nodes.map((node) => nodeSsh(config, node).user))].sort();

  const acls: AclRule[] = [
    {
      why: "servers: embedded etcd (client and peer) and the supervisor/API, for HA and joins",
      action: "accept",
      src: [S],
      proto: "tcp",
      dst: at([S], `${PORTS.etcd},${PORTS.api}`),
    },
    {
      why: "agents join through the servers' supervisor and reach the API",
      action: "accept",
      src: [A],
      proto: "tcp",
      dst: at([S], PORTS.api),
    },
    {
      why: "every node's kubelet: the API server (logs, exec) and metrics-server reach it from any node",
      action: "accept",
      src: nodes,
      proto: "tcp",
      dst: at(nodes, PORTS.kubelet),
    },
    {
      why: "flannel VXLAN: pod traffic between every pair of nodes",
      action: "accept",
      src: nodes,
      proto: "udp",
      dst: at(nodes, PORTS.vxlan),
    },
  ];
  const ssh: SshRule[] = [];
  if (admins.length > 0) {
    acls.push(
      {
        why: "admins: the Kubernetes API (kubectl, infra) on the servers",
        action: "accept",
        src: [...admins],
        proto: "tcp",
        dst: at([S], PORTS.api),
      },
      {
        why: "admins: SSH (Ansible) on every node, at the ports cluster.yaml gives",
        action: "accept",
        src: [...admins],
        proto: "tcp",
        dst: at(nodes, sshPorts),
      },
    );
    ssh.push({
      why: "admins: Tailscale SSH on every node, as the users Ansible logs in as",
      action: "accept",
      src: [...admins],
      dst: nodes,
      users: sshUsers,
    });
  }

  const tests: PolicyTest[] = [
    {
      why: "a server reaches the other servers' etcd and API, and every kubelet",
      src: S,
      proto: "tcp",
      accept: [...each([S], [2379, 2380, PORTS.api]), ...each(nodes, [PORTS.kubelet])],
      deny: [...each([A], [PORTS.api, 2379]), ...each(nodes, PORTS.ingress)],
    },
    {
      why: "an agent reaches the servers' API and every kubelet, never etcd",
      src: A,
      proto: "tcp",
      accept: [...each([S], [PORTS.api]), ...each(nodes, [PORTS.kubelet])],
      deny: [...each([S], [2379, 2380]), ...each([A], [PORTS.api]), ...each(nodes, PORTS.ingress)],
    },
    ...nodes.map<PolicyTest>((src) => ({
      why: `VXLAN from ${src === S ? "a server" : "an agent"} to every node`,
      src,
      proto: "udp",
      accept: each(nodes, [PORTS.vxlan]),
    })),
  ];
  const sshTests: SshTest[] = [];
  for (const admin of admins) {
    tests.push(
      {
        why: `${admin} reaches the API and SSH, never etcd, a kubelet or ingress`,
        src: admin,
        proto: "tcp",
        accept: [...each([S], [PORTS.api]), ...each(nodes, sshPorts)],
        deny: [
          ...each([S], [2379, 2380]),
          ...each(nodes, [PORTS.kubelet]),
          ...each([A], [PORTS.api]),
          ...each(nodes, PORTS.ingress),
        ],
      },
      {
        why: `${admin} does not reach VXLAN`,
        src: admin,
        proto: "udp",
        deny: each(nodes, [PORTS.vxlan]),
      },
    );
    sshTests.push({
      why: `${admin} logs in with Tailscale SSH as the Ansible users`,
      src: admin,
      dst: nodes,
      accept: sshUsers,
    });
  }

  const owners = [...tagOwners];
  return {
    cluster: config.name,
    groups: Object.fromEntries(
      Object.entries(groups)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, members]) => [name, [...members]]),
    ),
    tagOwners: Object.fromEntries(
      clusterTags(config)
        .sort()
        .map((tag) => [tag, owners]),
    ),
    acls,
    ssh,
    tests,
    sshTests,
  };
}

/** One section's block: its entries (one line each, with the reason above), between the markers. */
export function renderBlock(policy: ClusterPolicy, section: BlockSection, indent = "    "): string {
  const lines = [`${indent}${beginMarker(policy.cluster, section)}`];
  const entry = (why: string | undefined, text: string) => {
    if (why) lines.push(`${indent}// ${why}`);
    lines.push(`${indent}${text},`);
  };
  const json = (value: unknown) => JSON.stringify(value).replace(/,"/g, ', "').replace(/":/g, '": ');
  switch (section) {
    case "groups":
    case "tagOwners":
      for (const [key, members] of Object.entries(policy[section]))
        entry(undefined, `${json(key)}: ${json(members)}`);
      break;
    default:
      for (const { why, ...rest } of policy[section]) entry(why, json(rest));
  }
  lines.push(`${indent}${endMarker(policy.cluster, section)}`);
  return lines.join("\n");
}

const SECTION_NOTES: Record<BlockSection, string> = {
  groups: "Groups the rules below name (tailscale.groups).",
  tagOwners:
    "The cluster's tags; only these owners (and the control server's admins, who create the auth keys) may apply them.",
  acls: "Who reaches which K3s port over the mesh. Anything not accepted here is dropped by the receiving node.",
  ssh: "Tailscale SSH for the admins (tailscale.admins).",
  tests:
    "Checked by the control server whenever the policy is saved: the allowed flows stay allowed, the rest denied.",
  sshTests: "Checked like tests, for Tailscale SSH.",
};

/** The whole policy as the cluster would have it alone: every section holds only infra's block. */
export function renderPolicy(policy: ClusterPolicy): string {
  const out = [
    `// Tailnet access policy of the K3s cluster "${policy.cluster}": generated from cluster.yaml by \`infra tailnet policy\`.`,
    "// Zero trust between nodes: servers reach each other on etcd (2379-2380) and the API (6443); every node",
    "// reaches every node on the kubelet (10250) and VXLAN (8472/udp); agents reach the servers' API; admins",
    "// reach the API and SSH. Ingress (80/443) stays off the tailnet. Everything else is denied.",
    "// infra owns only the blocks between its markers: add your own rules outside them, and `infra tailnet apply`",
    "// keeps those. docs/networking.md explains the model.",
    "{",
  ];
  for (const section of SECTIONS) {
    const open = section === "groups" || section === "tagOwners" ? "{" : "[";
    const close = open === "{" ? "}" : "]";
    out.push(
      `  // ${SECTION_NOTES[section]}`,
      `  ${JSON.stringify(section)}: ${open}`,
      renderBlock(policy, section),
      `  ${close},`,
    );
  }
  out.push("}", "");
  return out.join("\n");
}
