/**
 * `infra dr restore-control-plane [--snapshot NAME]`: bring the control plane back from a K3s etcd
 * snapshot in the bucket (the newest one unless named).
 *
 * It refuses when the cluster looks healthy (the API answers /readyz and every server is Ready) unless
 * --force: a restore rolls the whole cluster state back to the snapshot. After confirmation,
 * k3s-restore.yml stops K3s on every server, resets the cluster on the first server from the snapshot
 * (`k3s server --cluster-reset --cluster-reset-restore-path=NAME`, the token written from the vault, the
 * bucket settings from the servers' etcd-s3 configuration), moves the other servers' etcd data aside and
 * starts them one at a time to rejoin; then the command waits until every node is Ready.
 */
import { type ClusterOptions, confirm, openKube } from "../backup/common.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import type { KubeClient } from "../kube/client.js";
import { durationOption, waitFor } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type EtcdSnapshot, listSnapshots, pickSnapshot, snapshotLocation } from "./etcd-snapshots.js";
import { type NodeObject, nodeReady } from "./status.js";

export interface RestoreControlPlaneOptions extends ClusterOptions {
  snapshot?: string | undefined;
  config?: string | undefined;
  force?: boolean | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  timeout?: string | undefined;
}

export interface ClusterHealth {
  /** The API answered /readyz. */
  apiReady: boolean;
  /** Why not, when it did not. */
  apiProblem?: string | undefined;
  servers: { name: string; ready: boolean }[];
}

export interface RestoreControlPlaneResult {
  snapshot: EtcdSnapshot;
  firstServer: string;
  otherServers: string[];
  health: ClusterHealth;
  forced: boolean;
  dryRun: boolean;
  steps: string[];
  playbook?: { logFile: string } | undefined;
  nodesReady: string[];
}

export async function restoreControlPlaneCommand(
  ctx: CommandContext,
  options: RestoreControlPlaneOptions,
): Promise<Outcome<RestoreControlPlaneResult>> {
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const { loadClusterConfig } = await import("../config/load.js");
  const loaded = await loadClusterConfig(ctx, options.config);
  const { readInventoryNodes, ansibleDirFor } = await import("../adapters/ansible.js");
  const inventory = await readInventoryNodes(ansibleDirFor(ctx.cwd), ctx.cwd);
  const [firstServer, ...otherServers] = inventory.servers;
  if (!firstServer) {
    throw new InfraError("NO_SERVER", "the inventory has no K3s server (group k3s_masters is empty)", {
      kind: "config",
      hint: "give at least one node the server role in cluster.yaml, then run infra configure",
    });
  }
  const location = snapshotLocation(loaded, ctx.env);
  let snapshot: EtcdSnapshot;
  try {
    snapshot = pickSnapshot(await listSnapshots(location, ctx.signal), options.snapshot);
  } finally {
    location.bucket.close();
  }

  const health = await clusterHealth(ctx, options, inventory.servers);
  const healthy = health.apiReady && health.servers.length > 0 && health.servers.every((s) => s.ready);
  if (healthy && !options.force) {
    throw new InfraError(
      "CLUSTER_HEALTHY",
      `the control plane looks healthy (API ready, ${health.servers.length} server(s) Ready); a restore would roll the whole cluster back to ${snapshot.name}`,
      {
        kind: "preflight",
        hint: "to replace one broken server use `infra dr node-recovery NAME`; if you do mean to roll back, add --force",
      },
    );
  }
  const steps = [
    `stop K3s on every server (${inventory.servers.join(", ")})`,
    `write the cluster token from the vault on ${firstServer} and reset the cluster to ${snapshot.name} (k3s server --cluster-reset --cluster-reset-restore-path=${snapshot.name}); K3s keeps the old data in db/etcd-old-<time>`,
    `start K3s on ${firstServer} and wait until it is Ready`,
    ...otherServers.map(
      (s) =>
        `${s}: move /var/lib/rancher/k3s/server/db aside (db.pre-restore-<time>), start K3s, wait until Ready`,
    ),
    "wait until every node of the cluster is Ready (agents reconnect by themselves)",
  ];
  const result: RestoreControlPlaneResult = {
    snapshot,
    firstServer,
    otherServers,
    health,
    forced: healthy,
    dryRun: options.dryRun === true,
    steps,
    nodesReady: [],
  };
  if (options.dryRun) return outcome(result, render);

  const { openAnsibleSession, RunPlaybook, CheckVault } = await import("../phases/ansible-phases.js");
  const { runAnsibleCommand } = await import("../phases/ansible-command.js");
  const session = await openAnsibleSession(ctx.cwd, ctx.env, "dr-restore-control-plane", ctx.reporter);
  // The vault (cluster token) must open before the question is even asked.
  const { checkVault } = await import("../adapters/ansible.js");
  await checkVault(session.ansibleDir, session.env, session.cwd, true);
  await confirm(
    ctx,
    `Stop K3s on ${inventory.servers.length} server(s) and restore the control plane from ${snapshot.name} (${snapshot.createdAt})?`,
    options.yes,
  );
  const run = await runAnsibleCommand(
    ctx,
    { command: "dr restore-control-plane", dryRun: false, session },
    (s) => [
      new CheckVault(s, true),
      new RunPlaybook(s, {
        title: `Restore the control plane from ${snapshot.name}`,
        playbook: "k3s-restore.yml",
        extraVars: { restore_snapshot: snapshot.name },
      }),
    ],
  );
  result.playbook = { logFile: run.data.logFile };
  ctx.reporter.phase("Wait for every node to be Ready");
  const kube = await openKube(ctx, options);
  result.nodesReady = await waitFor(
    async () => {
      // waitFor rides out the API restarting (transient errors) and stops on any other (e.g. 401).
      const nodes = await kube.list<NodeObject>("/api/v1/nodes");
      if (nodes.length === 0 || !nodes.every((n) => nodeReady(n) === "Ready")) return undefined;
      return nodes.map((n) => n.metadata.name as string);
    },
    {
      timeoutMs,
      intervalMs: 5000,
      signal: ctx.signal,
      what: "every node to be Ready after the restore",
      hint: "see `infra status`; restart an agent that stays NotReady (systemctl restart k3s-agent); nodes that no longer exist: infra node remove NAME",
    },
  );
  return outcome(result, render);
}

/** What the API says about the control plane; an unreachable API is an answer, not an error. */
async function clusterHealth(
  ctx: CommandContext,
  options: ClusterOptions,
  servers: readonly string[],
): Promise<ClusterHealth> {
  let kube: KubeClient;
  try {
    kube = await openKube(ctx, options);
    const ready =
      (await kube.request<string>("GET", "/readyz", { timeoutMs: 10_000, text: true })).trim() === "ok";
    const nodes = await kube.list<NodeObject>("/api/v1/nodes");
    return {
      apiReady: ready,
      servers: servers.map((name) => {
        const node = nodes.find((n) => n.metadata.name === name);
        return { name, ready: node ? nodeReady(node) === "Ready" : false };
      }),
    };
  } catch (error) {
    if (error instanceof InfraError && error.kind === "interrupted") throw error;
    return {
      apiReady: false,
      apiProblem: error instanceof Error ? error.message : String(error),
      servers: servers.map((name) => ({ name, ready: false })),
    };
  }
}

function render(r: RestoreControlPlaneResult): string {
  const lines = [
    r.dryRun
      ? `Dry run: restore of the control plane from ${r.snapshot.name} (${r.snapshot.createdAt}, taken on ${r.snapshot.node || "?"}) would:`
      : `✓ Control plane restored from ${r.snapshot.name}; ${r.nodesReady.length} node(s) Ready.`,
  ];
  lines.push(
    `  now: API ${r.health.apiReady ? "ready" : `not ready${r.health.apiProblem ? ` (${r.health.apiProblem})` : ""}`}; servers ${r.health.servers.map((s) => `${s.name} ${s.ready ? "Ready" : "not Ready"}`).join(", ")}${r.forced ? " — restoring anyway (--force)" : ""}`,
  );
  r.steps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step}`);
  });
  if (r.playbook) lines.push(`log: ${r.playbook.logFile}`);
  return lines.join("\n");
}
