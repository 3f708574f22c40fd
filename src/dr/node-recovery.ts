/**
 * `infra dr node-recovery NODE`: rebuild a node that died (disk lost, VPS re-created).
 *
 * 1. checks: the node is in the inventory; it is not Ready (unless --force);
 * 2. removes the stale Node object — on a K3s server this also makes K3s drop the node's etcd member,
 *    so the rebuilt server can join again under the same name (k3s-io/k3s#3717, #13498);
 * 3. re-provisions the host with the playbooks, through the same phases as `infra node add NODE`
 *    (vault check, preflight, bootstrap.yml, then k3s-master.yml or k3s-worker.yml limited to the node),
 *    joining with the cluster token from Ansible Vault;
 * 4. waits until the node has registered again and is Ready.
 *
 * The Tailscale pitfalls are reported as steps for the operator (the CLI has no tailnet credentials):
 * the dead machine's device still holds its name and address in the tailnet, so the rebuilt host would
 * come up as "<name>-1" with a new 100.x address unless the old device is removed first.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClusterOptions, confirm, openKube } from "../backup/common.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { resourcePath } from "../kube/client.js";
import { durationOption, waitFor } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { runAnsibleCommand } from "../phases/ansible-command.js";
import { nodeAddPhases } from "../phases/node-add.js";
import { type NodeObject, nodeReady } from "./status.js";

export interface NodeRecoveryOptions extends ClusterOptions {
  node: string;
  config?: string | undefined;
  force?: boolean | undefined;
  skipPlaybooks?: boolean | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  timeout?: string | undefined;
}

export interface NodeRecoveryResult {
  node: string;
  role: "server" | "agent";
  firstServer: boolean;
  dryRun: boolean;
  nodeObject: "deleted" | "absent" | "kept";
  playbook: { command: string; ran: boolean; logFile?: string | undefined };
  rejoined: boolean;
  steps: string[];
  warnings: string[];
}

export const INVENTORY = join("ansible", "inventory", "hosts.yml");

interface Inventory {
  servers: string[];
  agents: string[];
}

export async function readInventory(cwd: string): Promise<Inventory> {
  const file = join(cwd, INVENTORY);
  if (!existsSync(file)) {
    throw new InfraError("INVENTORY_MISSING", `${INVENTORY} does not exist`, {
      location: { file },
      hint: "render it from cluster.yaml with `infra configure`",
    });
  }
  const { parse } = await import("yaml");
  type Group = { hosts?: Record<string, unknown> | null; children?: Record<string, Group | null> | null };
  const doc = (parse(await readFile(file, "utf8")) ?? {}) as Record<string, Group>;
  const hostsOf = (group: string): string[] => {
    const search = (g: Group | null | undefined, name: string): string[] | undefined => {
      if (!g) return undefined;
      for (const [child, value] of Object.entries(g.children ?? {})) {
        if (child === name) return Object.keys(value?.hosts ?? {});
        const found = search(value, name);
        if (found) return found;
      }
      return undefined;
    };
    for (const [name, value] of Object.entries(doc)) {
      if (name === group) return Object.keys(value?.hosts ?? {});
      const found = search(value, group);
      if (found) return found;
    }
    return [];
  };
  return { servers: hostsOf("k3s_masters"), agents: hostsOf("k3s_workers") };
}

export async function nodeRecoveryCommand(
  ctx: CommandContext,
  options: NodeRecoveryOptions,
): Promise<Outcome<NodeRecoveryResult>> {
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const inventory = await readInventory(ctx.cwd);
  const isServer = inventory.servers.includes(options.node);
  if (!isServer && !inventory.agents.includes(options.node)) {
    throw new InfraError("NODE_NOT_IN_INVENTORY", `node ${options.node} is not in ${INVENTORY}`, {
      location: { file: join(ctx.cwd, INVENTORY) },
      hint: `known nodes: ${[...inventory.servers, ...inventory.agents].join(", ") || "none"}; add it to cluster.yaml and run \`infra configure\``,
    });
  }
  const kube = await openKube(ctx, options);
  const nodePath = resourcePath("v1", "nodes", undefined, options.node);
  const node = await kube.find<NodeObject>(nodePath);
  if (node && nodeReady(node) === "Ready" && !options.force) {
    throw new InfraError(
      "NODE_READY",
      `node ${options.node} is Ready; recovering it would re-provision a healthy node`,
      {
        hint: "if the host really must be rebuilt, pass --force; to move workloads off it first run `infra dr failover`",
      },
    );
  }
  const firstServer = inventory.servers[0] === options.node;
  const command = `bootstrap.yml, then ${isServer ? "k3s-master.yml" : "k3s-worker.yml"} --limit ${options.node}`;
  const warnings: string[] = [];
  if (isServer) {
    const others = inventory.servers.filter((s) => s !== options.node);
    if (others.length === 0) {
      warnings.push(
        "this is the only server: its etcd data is gone with it; restore the cluster from an etcd snapshot (docs/disaster-recovery.md) instead",
      );
    } else if (firstServer) {
      warnings.push(
        `this is the first server in the inventory: make sure it joins the remaining servers (${others.join(", ")}) instead of initialising a new cluster — see docs/disaster-recovery.md`,
      );
    }
  }
  const steps = [
    `Remove the dead machine's device from the tailnet (admin console, or \`headscale nodes delete\`), so the rebuilt host gets its name back`,
    node
      ? `Delete the Node object ${options.node}${isServer ? " (K3s then removes its etcd member)" : ""}`
      : "The Node object is already gone",
    options.skipPlaybooks
      ? "Re-provision the host yourself (skipped: --skip-playbooks)"
      : `Re-provision the host: ${command} (the cluster token comes from Ansible Vault: vault_k3s_token)`,
    "If the host's Tailscale address changed, update tailscale_ip in cluster.yaml and run `infra configure`",
    `Wait until ${options.node} is Ready again`,
  ];
  const result: NodeRecoveryResult = {
    node: options.node,
    role: isServer ? "server" : "agent",
    firstServer,
    dryRun: options.dryRun === true,
    nodeObject: node ? "kept" : "absent",
    playbook: { command, ran: false },
    rejoined: false,
    steps,
    warnings,
  };
  if (options.dryRun) return outcome(result, render);
  await confirm(ctx, `Delete node ${options.node} from the cluster and re-provision it?`, options.yes);

  if (node) {
    ctx.reporter.phase(`Remove the stale Node object ${options.node}`);
    await kube.delete(nodePath);
    result.nodeObject = "deleted";
  }
  if (options.skipPlaybooks) return outcome(result, render);

  ctx.reporter.phase(`Re-provision ${options.node} with the playbooks`);
  const run = await runAnsibleCommand(ctx, { command: "dr node-recovery", dryRun: false }, (session) =>
    nodeAddPhases(session, options.node),
  );
  result.playbook = { command, ran: true, logFile: run.data.logFile };
  ctx.reporter.phase(`Wait for ${options.node} to be Ready`);
  await waitFor(
    async () => {
      const back = await kube.find<NodeObject>(nodePath);
      return back && nodeReady(back) === "Ready" ? true : undefined;
    },
    {
      timeoutMs,
      intervalMs: 5000,
      signal: ctx.signal,
      what: `node ${options.node} to rejoin`,
      hint: "check `journalctl -u k3s` (or k3s-agent) on the host and `tailscale status`",
    },
  );
  result.rejoined = true;
  return outcome(result, render);
}

function render(r: NodeRecoveryResult): string {
  const lines = [
    r.dryRun
      ? `Dry run: recovery of ${r.role} ${r.node} would:`
      : r.rejoined
        ? `✓ Node ${r.node} was rebuilt and is Ready.`
        : `Node ${r.node}: Node object ${r.nodeObject}${r.playbook.ran ? "" : "; playbooks not run"}.`,
  ];
  r.steps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step}`);
  });
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}
