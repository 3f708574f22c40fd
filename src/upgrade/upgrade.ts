/**
 * `infra upgrade [--to VERSION]`: move every node to a new K3s release.
 *
 * Before anything changes: the target is a known release (default: k3s.version of cluster.yaml), no
 * node is newer (no downgrade) or more than one minor behind (skew policy), every node is Ready and in
 * the inventory, the bucket answers with the environment's credentials, the vault opens. Then:
 *
 *   1. an on-demand etcd snapshot `pre-upgrade-<version>` on the first server, checked in the bucket;
 *   2. each server alone, then the agents in batches of --max-unavailable: cordon, evict the pods
 *      through the Eviction API (PodDisruptionBudgets decide), run k3s-upgrade.yml on the node(s),
 *      wait until Ready at the new version, uncordon.
 *
 * The first node that fails stops the run. A drain that fails leaves the node as it was (uncordoned);
 * a node whose upgrade failed stays cordoned with the CLI's mark, and the next run picks it up first:
 * resuming is running the same command again (nodes already at the target are skipped).
 */
import { type ClusterOptions, confirm, openKube, table } from "../backup/common.js";
import type { CommandContext } from "../context.js";
import {
  budgetsFor,
  CORDONED_BY_ANNOTATION,
  cordon,
  cordonedByCli,
  drain,
  podName,
  podsToEvict,
  uncordon,
} from "../dr/drain.js";
import {
  type EtcdSnapshot,
  listSnapshots,
  type SnapshotLocation,
  snapshotLocation,
} from "../dr/etcd-snapshots.js";
import { type NodeObject, nodeReady } from "../dr/status.js";
import { InfraError } from "../errors.js";
import { type KubeClient, resourcePath } from "../kube/client.js";
import { durationOption, formatDuration, waitFor } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { Manager } from "../phases/manager.js";
import type { Phase, PhaseContext } from "../phases/phase.js";
import { ansibleHostActions, type HostActions } from "./host-actions.js";
import { type PlannedNode, planUpgrade, type UpgradeStep } from "./plan.js";
import { checkSkew, formatK3sVersion, parseTarget, versionSlug } from "./versions.js";

export interface UpgradeOptions extends ClusterOptions {
  to?: string | undefined;
  config?: string | undefined;
  maxUnavailable?: string | undefined;
  drainTimeout?: string | undefined;
  nodeTimeout?: string | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
}

export interface UpgradeDeps {
  /** The hosts side; default: the playbooks through Ansible. */
  hostActions?: (ctx: CommandContext) => Promise<HostActions>;
  /** How often node state is polled (ms). */
  pollMs?: number;
}

export interface PodToEvict {
  pod: string;
  /** What would decide its eviction now: the budgets that select it, or "no PodDisruptionBudget". */
  budgets: string[];
  blockedNow: boolean;
}

export interface NodeReport {
  name: string;
  role: "server" | "agent";
  from: string;
  action: PlannedNode["action"];
  /** Dry run: what a drain would evict. */
  pods?: PodToEvict[];
  /** Real run: what was evicted. */
  evicted?: string[];
  status: "planned" | "upgraded" | "uncordoned" | "failed" | "not reached";
}

export interface UpgradeResult {
  target: string;
  targetFrom: "--to" | "cluster.yaml";
  dryRun: boolean;
  checks: string[];
  snapshot: { name: string; uploaded?: string | undefined; bucket?: string | undefined; localOnly: boolean };
  steps: { role: "server" | "agent"; nodes: NodeReport[] }[];
  upToDate: string[];
  warnings: string[];
  logFile?: string | undefined;
  durationMs?: number | undefined;
}

export async function upgradeCommand(
  ctx: CommandContext,
  options: UpgradeOptions,
  deps: UpgradeDeps = {},
): Promise<Outcome<UpgradeResult>> {
  const maxUnavailable = positiveInteger(options.maxUnavailable ?? "1", "--max-unavailable");
  // A drain needs at least one pass over the pods, a node a moment to report Ready.
  const drainTimeoutMs = durationOption("--drain-timeout", options.drainTimeout ?? "10m", { minMs: 1000 });
  const nodeTimeoutMs = durationOption("--node-timeout", options.nodeTimeout ?? "15m", { minMs: 1000 });
  const { loadClusterConfig } = await import("../config/load.js");
  const loaded = await loadClusterConfig(ctx, options.config);
  const targetText = options.to ?? loaded.config.k3s.version;
  const targetFrom = options.to !== undefined ? "--to" : "cluster.yaml";
  const { version: target, warning } = parseTarget(
    targetText,
    targetFrom === "--to" ? "--to" : `${loaded.source.display}: k3s.version`,
  );
  const version = formatK3sVersion(target);
  const warnings = warning ? [warning] : [];
  if (targetFrom === "--to" && version !== loaded.config.k3s.version) {
    warnings.push(
      `cluster.yaml pins ${loaded.config.k3s.version}: set k3s.version to ${version} and run \`infra configure\` after the upgrade, or the next \`infra up\` refuses a downgrade`,
    );
  }
  const checks = [`${version} is a known K3s release (from ${targetFrom})`];

  const kube = await openKube(ctx, options);
  const nodes = await kube.list<NodeObject>("/api/v1/nodes");
  checkSkew(
    target,
    nodes.map((n) => ({
      name: n.metadata.name as string,
      kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? "",
    })),
  );
  checks.push(`no node is newer than ${version} and none is more than one minor behind`);
  const { readInventoryNodes, ansibleDirFor } = await import("../adapters/ansible.js");
  const inventory = await readInventoryNodes(ansibleDirFor(ctx.cwd), ctx.cwd);
  const plan = planUpgrade(version, nodes, inventory, maxUnavailable);
  checks.push(
    `all ${nodes.length} node(s) are Ready (or left cordoned by an earlier run) and in the inventory`,
  );

  const snapshotName = `pre-upgrade-${versionSlug(target)}`;
  const localOnly = !loaded.config.backup.etcd.enabled;
  let location: SnapshotLocation | undefined;
  if (localOnly) {
    warnings.push(
      "backup.etcd.enabled is false: the pre-upgrade snapshot stays on the first server's disk only",
    );
  } else if (plan.steps.length > 0) {
    location = snapshotLocation(loaded, ctx.env);
    await listSnapshots(location, ctx.signal);
    checks.push(`the bucket ${location.bucket.access.bucket} answers with the environment's credentials`);
  }

  const result: UpgradeResult = {
    target: version,
    targetFrom,
    dryRun: options.dryRun === true,
    checks,
    snapshot: { name: snapshotName, localOnly, bucket: location?.bucket.access.bucket },
    steps: plan.steps.map((s) => ({ role: s.role, nodes: s.nodes.map(report) })),
    upToDate: plan.upToDate.map((n) => n.name),
    warnings,
  };
  try {
    if (plan.steps.length === 0) return outcome(result, render);
    if (options.dryRun) {
      for (const step of result.steps)
        for (const node of step.nodes)
          if (node.action === "upgrade") node.pods = await evictionPreview(kube, node.name);
      return outcome(result, render);
    }
    const actions = await (deps.hostActions ?? ansibleHostActions)(ctx);
    // What must still happen after a Ctrl-C (which cancels every request of `kube`): undoing this
    // run's cordons and listing what is left. Short requests: infra exits 5 s after the interrupt.
    const settle = kube.uncancellable(SETTLE_REQUEST_MS);
    result.logFile = actions.logFile;
    const count = plan.steps.reduce((n, s) => n + s.nodes.length, 0);
    await confirm(
      ctx,
      `Upgrade ${count} node(s) to ${version} (etcd snapshot first; servers one at a time, agents ${maxUnavailable} at a time)?`,
      options.yes,
    );
    const phases: Phase[] = [];
    if (plan.steps.some((s) => s.nodes.some((n) => n.action === "upgrade"))) {
      phases.push(new TakeSnapshot(actions, snapshotName, location, result, deps.pollMs));
    }
    for (const [index, step] of plan.steps.entries()) {
      phases.push(
        new UpgradeStepPhase({ kube, settle }, actions, step, result.steps[index]?.nodes ?? [], version, {
          drainTimeoutMs,
          nodeTimeoutMs,
          pollMs: deps.pollMs ?? 5000,
        }),
      );
    }
    const managerOptions: ConstructorParameters<typeof Manager>[0] = { reporter: ctx.reporter };
    if (ctx.signal) managerOptions.signal = ctx.signal;
    try {
      result.durationMs = (await new Manager(managerOptions).run(phases)).durationMs;
    } catch (error) {
      const left = await settle
        .list<NodeObject>("/api/v1/nodes")
        .then((all) => all.filter(cordonedByCli).map((n) => n.metadata.name as string))
        .catch(() => undefined);
      throw withResumeHint(ctx.signal?.aborted ? asInterrupted(error) : error, result, left);
    }
    return outcome(result, render);
  } finally {
    location?.bucket.close();
  }
}

const SETTLE_REQUEST_MS = 3000;

function report(n: PlannedNode): NodeReport {
  return { name: n.name, role: n.role, from: n.version, action: n.action, status: "planned" };
}

function positiveInteger(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1000) {
    throw new InfraError("INVALID_NUMBER", `"${text}" is not a whole number from 1 to 1000`, {
      kind: "usage",
      location: { path: flag },
      hint: `e.g. ${flag} 2`,
    });
  }
  return Number(text);
}

async function evictionPreview(kube: KubeClient, node: string): Promise<PodToEvict[]> {
  const pods = await podsToEvict(kube, node);
  const out: PodToEvict[] = [];
  for (const pod of pods) {
    const budgets = await budgetsFor(kube, pod);
    out.push({
      pod: podName(pod),
      budgets: budgets.length ? budgets.map((b) => b.text) : ["no PodDisruptionBudget"],
      blockedNow: budgets.some((b) => b.disruptionsAllowed < 1),
    });
  }
  return out;
}

/** The on-demand snapshot, and — with the bucket — proof that K3s uploaded it. */
class TakeSnapshot implements Phase {
  readonly title: string;
  constructor(
    private readonly actions: HostActions,
    private readonly name: string,
    private readonly location: SnapshotLocation | undefined,
    private readonly result: UpgradeResult,
    private readonly pollMs = 5000,
  ) {
    this.title = `Take the etcd snapshot ${name} on the first server`;
  }

  async run(ctx: PhaseContext): Promise<void> {
    const location = this.location;
    // Only a name the bucket did not hold before counts (K3s names it with the server's clock, so a
    // comparison with this machine's clock would fail on a skewed laptop).
    const before = location
      ? new Set((await listSnapshots(location, ctx.signal)).map((s) => s.name))
      : new Set<string>();
    await this.actions.snapshot(this.name, ctx);
    if (!location) return;
    const fresh = (s: EtcdSnapshot) => s.name.startsWith(`${this.name}-`) && !before.has(s.name);
    const uploaded = await waitFor(async () => (await listSnapshots(location, ctx.signal)).find(fresh), {
      timeoutMs: 120_000,
      intervalMs: this.pollMs,
      signal: ctx.signal,
      what: `the snapshot ${this.name} to appear in the bucket`,
      hint: "the server saved it but the upload failed: see `journalctl -u k3s` on the first server and its etcd-s3 settings; no node was changed",
    });
    this.result.snapshot.uploaded = uploaded.name;
    ctx.reporter.step("snapshot", `${uploaded.name} in the bucket (${uploaded.node || "?"})`);
  }
}

interface StepTimeouts {
  drainTimeoutMs: number;
  nodeTimeoutMs: number;
  pollMs: number;
}

/** One server, or one batch of agents: cordon, drain, upgrade, wait Ready at the version, uncordon. */
class UpgradeStepPhase implements Phase {
  readonly title: string;
  /**
   * Nodes this run cordoned and has not started to upgrade: uncordoned again if the step fails. A node
   * an earlier run left cordoned stays as it was found.
   */
  private readonly cordonedNotStarted = new Set<string>();

  private readonly kube: KubeClient;
  private readonly settle: KubeClient;

  constructor(
    clients: { kube: KubeClient; settle: KubeClient },
    private readonly actions: HostActions,
    private readonly step: UpgradeStep,
    private readonly reports: NodeReport[],
    private readonly version: string,
    private readonly timeouts: StepTimeouts,
  ) {
    this.kube = clients.kube;
    this.settle = clients.settle;
    const names = step.nodes.map((n) => n.name).join(", ");
    const verb = step.nodes.every((n) => n.action === "uncordon") ? "Uncordon" : "Upgrade";
    this.title = `${verb} ${step.role === "server" ? "server" : step.nodes.length > 1 ? "agents" : "agent"} ${names}`;
  }

  async run(ctx: PhaseContext): Promise<void> {
    const toUpgrade = this.step.nodes.filter((n) => n.action === "upgrade");
    for (const planned of this.step.nodes) this.reportOf(planned.name).status = "not reached";
    for (const planned of toUpgrade) {
      const node = await this.kube.get<NodeObject>(resourcePath("v1", "nodes", undefined, planned.name));
      if (await cordon(this.kube, node, `upgrade to ${this.version}`)) {
        this.cordonedNotStarted.add(planned.name);
        ctx.reporter.step(planned.name, "cordoned");
      } else if (!planned.leftCordoned) {
        ctx.reporter.step(planned.name, "already cordoned (by someone else: it stays cordoned)");
      }
    }
    for (const planned of toUpgrade) {
      const started = Date.now();
      const drained = await drain(this.kube, planned.name, {
        timeoutMs: this.timeouts.drainTimeoutMs,
        intervalMs: Math.min(this.timeouts.pollMs, 2000),
        signal: ctx.signal,
        onEvicted: (pod) => ctx.reporter.step(planned.name, `evicted ${pod}`),
      });
      this.reportOf(planned.name).evicted = drained.evicted;
      ctx.reporter.step(
        planned.name,
        `drained (${drained.evicted.length} pod(s), ${formatDuration(Date.now() - started)})`,
      );
    }
    if (toUpgrade.length > 0) {
      // From here a failure leaves the nodes cordoned (with the mark), for the next run to pick up.
      this.cordonedNotStarted.clear();
      try {
        await this.actions.upgrade(
          toUpgrade.map((n) => n.name),
          this.version,
          ctx,
        );
      } catch (error) {
        for (const n of toUpgrade) this.reportOf(n.name).status = "failed";
        throw error;
      }
    }
    for (const planned of toUpgrade) {
      await this.waitReady(planned.name, ctx);
      this.reportOf(planned.name).status = "upgraded";
    }
    for (const planned of this.step.nodes) {
      const node = await this.kube.get<NodeObject>(resourcePath("v1", "nodes", undefined, planned.name));
      if (CORDONED_BY_ANNOTATION in (node.metadata.annotations ?? {})) {
        await uncordon(this.kube, planned.name);
        ctx.reporter.step(planned.name, "uncordoned");
      }
      if (planned.action === "uncordon") this.reportOf(planned.name).status = "uncordoned";
    }
  }

  async cleanUp(ctx: PhaseContext): Promise<void> {
    for (const name of this.cordonedNotStarted) {
      await uncordon(this.settle, name);
      ctx.reporter.step(name, "uncordoned again (its upgrade had not started)");
    }
  }

  private reportOf(name: string): NodeReport {
    return this.reports.find((r) => r.name === name) as NodeReport;
  }

  private async waitReady(name: string, ctx: PhaseContext): Promise<void> {
    try {
      await waitFor(
        async () => {
          const node = await this.kube.find<NodeObject>(resourcePath("v1", "nodes", undefined, name));
          return node && nodeReady(node) === "Ready" && node.status?.nodeInfo?.kubeletVersion === this.version
            ? true
            : undefined;
        },
        {
          timeoutMs: this.timeouts.nodeTimeoutMs,
          intervalMs: this.timeouts.pollMs,
          signal: ctx.signal,
          what: `${name} to be Ready at ${this.version}`,
          hint: `see \`journalctl -u k3s\` (or k3s-agent) on ${name}`,
        },
      );
    } catch (error) {
      this.reportOf(name).status = "failed";
      throw error;
    }
    ctx.reporter.step(name, `Ready at ${this.version}`);
  }
}

/** A request a Ctrl-C cancelled rejects with whatever the signal carries: make it an interruption. */
function asInterrupted(error: unknown): unknown {
  if (error instanceof InfraError && error.kind === "interrupted") return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InfraError("INTERRUPTED", `interrupted (${message})`, { kind: "interrupted", cause: error });
}

/** The error with what state the run left and how to resume; `left`: nodes still carrying the CLI's cordon. */
function withResumeHint(error: unknown, result: UpgradeResult, left: string[] | undefined): unknown {
  if (!(error instanceof InfraError)) return error;
  const resume = `then resume with \`infra upgrade --to ${result.target}\` (nodes already at ${result.target} are skipped)`;
  const state =
    left === undefined
      ? `nodes cordoned by this command carry the annotation ${CORDONED_BY_ANNOTATION} (the API did not answer to list them)`
      : left.length
        ? `${left.join(", ")} stay${left.length === 1 ? "s" : ""} cordoned (annotation ${CORDONED_BY_ANNOTATION}) and ${left.length === 1 ? "is" : "are"} retried first`
        : "no node was left cordoned";
  // After a Ctrl-C the hint of whatever was waiting is beside the point: the state left is what counts.
  const cause = error.kind === "interrupted" ? undefined : error.hint;
  const options: ConstructorParameters<typeof InfraError>[2] = {
    kind: error.kind,
    details: error.details,
    hint: `${cause ? `${cause}; ` : ""}${state}; ${resume}`,
    cause: error,
  };
  if (error.location) options.location = error.location;
  return new InfraError(error.code, error.message, options);
}

function render(r: UpgradeResult): string {
  const lines: string[] = [];
  const nodes = r.steps.flatMap((s) => s.nodes);
  if (nodes.length === 0) {
    lines.push(`✓ Every node already runs ${r.target}; nothing to do.`);
  } else if (r.dryRun) {
    lines.push(`Dry run: upgrade to ${r.target} (from ${r.targetFrom}). Checks passed:`);
    for (const c of r.checks) lines.push(`  ✓ ${c}`);
    lines.push(
      `Would take the etcd snapshot ${r.snapshot.name}-<node>-<time> on the first server${r.snapshot.localOnly ? " (kept on its disk only)" : ` and check it in bucket ${r.snapshot.bucket}`}, then, in this order:`,
    );
  } else {
    lines.push(
      `✓ Upgraded to ${r.target}${r.durationMs !== undefined ? ` in ${formatDuration(r.durationMs)}` : ""}.`,
    );
    if (r.snapshot.uploaded) lines.push(`  etcd snapshot before: ${r.snapshot.uploaded}`);
  }
  r.steps.forEach((step, i) => {
    const rows = step.nodes.map((n) => [
      String(i + 1),
      n.name,
      n.role,
      n.from,
      n.action === "uncordon"
        ? "uncordon (upgraded by an earlier run)"
        : r.dryRun
          ? `cordon, drain, upgrade, wait Ready, uncordon`
          : n.status,
    ]);
    if (i === 0) lines.push(table(["STEP", "NODE", "ROLE", "FROM", r.dryRun ? "ACTIONS" : "RESULT"], rows));
    else lines.push(...table(["", "", "", "", ""], rows).split("\n").slice(1));
  });
  if (r.dryRun) {
    for (const n of nodes) {
      for (const p of n.pods ?? []) {
        lines.push(
          `  ${n.name}: evict ${p.pod} — ${p.budgets.join("; ")}${p.blockedNow ? " (would block now)" : ""}`,
        );
      }
    }
  }
  if (r.upToDate.length) lines.push(`Already at ${r.target}: ${r.upToDate.join(", ")}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.logFile && !r.dryRun) lines.push(`log: ${r.logFile}`);
  return lines.join("\n");
}
