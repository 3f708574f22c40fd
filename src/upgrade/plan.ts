/**
 * The order of an upgrade, as data: the servers one at a time in inventory order (etcd keeps quorum),
 * then the agents in batches of --max-unavailable. A node already at the target is not drained; one
 * left cordoned by an earlier run that stopped is picked up again (that is how a run resumes).
 */

import { cordonedByCli } from "../dr/drain.js";
import { type NodeObject, nodeReady } from "../dr/status.js";
import { InfraError } from "../errors.js";

export type NodeAction = "upgrade" | "up-to-date" | "uncordon";

export interface PlannedNode {
  name: string;
  role: "server" | "agent";
  version: string;
  ready: boolean;
  /** Cordoned by an earlier `infra upgrade` that stopped. */
  leftCordoned: boolean;
  action: NodeAction;
}

export interface UpgradeStep {
  role: "server" | "agent";
  nodes: PlannedNode[];
}

export interface InventoryGroups {
  servers: string[];
  agents: string[];
}

export interface UpgradePlan {
  /** What changes, in order; nodes already at the target are not in it. */
  steps: UpgradeStep[];
  upToDate: PlannedNode[];
}

/** Checks nodes against the inventory and readiness; returns the steps in order. */
export function planUpgrade(
  target: string,
  nodes: readonly NodeObject[],
  inventory: InventoryGroups,
  maxUnavailable: number,
): UpgradePlan {
  const byName = new Map(nodes.map((n) => [n.metadata.name as string, n]));
  const known = new Set([...inventory.servers, ...inventory.agents]);
  const stray = [...byName.keys()].filter((n) => !known.has(n));
  if (stray.length > 0) {
    throw new InfraError(
      "UPGRADE_NODE_NOT_IN_INVENTORY",
      `node ${stray.join(", ")} is in the cluster but not in the inventory, so no playbook can reach it`,
      {
        kind: "preflight",
        hint: "add it to cluster.yaml and run `infra configure`, or remove it (infra node remove NAME); nothing was changed",
      },
    );
  }
  const absent = [...known].filter((n) => !byName.has(n));
  if (absent.length > 0) {
    throw new InfraError(
      "UPGRADE_NODE_NOT_REGISTERED",
      `node ${absent.join(", ")} of the inventory has not joined the cluster`,
      {
        kind: "preflight",
        hint: "join it first (infra node add NAME) or take it out of cluster.yaml; nothing was changed",
      },
    );
  }
  const planned = (name: string, role: "server" | "agent"): PlannedNode => {
    const node = byName.get(name) as NodeObject;
    const version = node.status?.nodeInfo?.kubeletVersion ?? "";
    const ready = nodeReady(node) === "Ready";
    const leftCordoned = cordonedByCli(node);
    const action: NodeAction =
      version !== target ? "upgrade" : leftCordoned ? (ready ? "uncordon" : "upgrade") : "up-to-date";
    return { name, role, version, ready, leftCordoned, action };
  };
  const all = [
    ...inventory.servers.map((n) => planned(n, "server")),
    ...inventory.agents.map((n) => planned(n, "agent")),
  ];
  const notReady = all.filter((n) => !n.ready && !n.leftCordoned);
  if (notReady.length > 0) {
    throw new InfraError(
      "UPGRADE_NODE_NOT_READY",
      `node ${notReady.map((n) => n.name).join(", ")} is not Ready; an upgrade starts only on a healthy cluster`,
      {
        kind: "preflight",
        hint: "bring it back first (infra status; journalctl -u k3s or k3s-agent on the host; infra dr node-recovery NAME), then run this again; nothing was changed",
      },
    );
  }
  const todo = all.filter((n) => n.action !== "up-to-date");
  const steps: UpgradeStep[] = todo
    .filter((n) => n.role === "server")
    .map((n) => ({ role: "server", nodes: [n] }));
  const agents = todo.filter((n) => n.role === "agent");
  for (let i = 0; i < agents.length; i += maxUnavailable) {
    steps.push({ role: "agent", nodes: agents.slice(i, i + maxUnavailable) });
  }
  return { steps, upToDate: all.filter((n) => n.action === "up-to-date") };
}
