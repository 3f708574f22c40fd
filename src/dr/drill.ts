/**
 * `infra dr drill`: an automated restore test. Back up one namespace, restore it into a scratch
 * namespace (node ports re-assigned there: they are unique in a cluster), compare every object,
 * keep Velero's logs, report pass or fail with the measured restore time (RTO), and clean up the
 * scratch namespace, the drill backup and its restore whatever the outcome — Ctrl-C included: an
 * interrupted drill removes what it made or names what is left and the command that removes it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClusterOptions, openVelero } from "../backup/common.js";
import { requestDeletion } from "../backup/delete.js";
import { waitForBackup, waitForRestore } from "../backup/progress.js";
import { restoreSummary } from "../backup/restore.js";
import { inspectTargets, refuseUnsafeTargets } from "../backup/targets.js";
import {
  type Backup,
  backupPhaseState,
  CREATED_BY,
  CREATED_BY_LABEL,
  isTerminal,
  type Restore,
  restorePhaseState,
  timestampSuffix,
  VELERO_API,
  type Velero,
} from "../backup/velero.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { isNotFound, type KubeObject, resourcePath } from "../kube/client.js";
import { discoverResources, type ResourceType } from "../kube/discovery.js";
import { type InventoryItem, namespaceInventory } from "../kube/inventory.js";
import { durationOption, formatDuration, waitFor } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type Comparison, compareNamespaces, diffPaths, normalize } from "./compare.js";

export const DRILL_LABEL = "infra.k3s/drill";
/** How long an interrupted drill spends removing what it made before it exits. */
const INTERRUPT_CLEANUP_MS = 3_500;

export interface DrillOptions extends ClusterOptions {
  namespace: string;
  keep?: boolean | undefined;
  timeout?: string | undefined;
}

export interface DrillResult {
  pass: boolean;
  context: string;
  namespace: string;
  scratchNamespace: string;
  backup: string;
  restore: string;
  backupPhase: string;
  restorePhase: string;
  objects: number;
  comparison?: Comparison | undefined;
  failure?: string | undefined;
  backupSeconds: number;
  /** Measured recovery time: from creating the Restore to all objects restored. */
  rtoSeconds: number;
  totalSeconds: number;
  /** Where Velero's logs of the drill were saved, and the lines worth reading on failure. */
  logs?: { dir: string; excerpt: string[] } | undefined;
  cleanedUp: boolean;
  kept: boolean;
  /** What cleanup could not remove, each with the command that removes it. */
  leftBehind: string[];
}

/** What the drill has made so far: what cleanup must remove. */
interface Made {
  stage: "backup" | "restore" | "comparison" | "cleanup";
  backup: boolean;
  modifier: boolean;
  restore: boolean;
}

export async function drillCommand(
  ctx: CommandContext,
  options: DrillOptions,
): Promise<Outcome<DrillResult>> {
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const source = options.namespace;
  const started = Date.now();
  const velero = await openVelero(ctx, options);
  if (!(await velero.kube.find(resourcePath("v1", "namespaces", undefined, source)))) {
    throw new InfraError("NAMESPACE_NOT_FOUND", `namespace "${source}" does not exist`, {
      kind: "usage",
      location: { path: "--namespace" },
      hint: "pick a namespace that holds an application: --namespace <name>",
    });
  }
  const location = await velero.usableLocation(undefined, true);
  const id = timestampSuffix().replace("-", "").slice(4); // MMDDhhmmss
  // the backup, its restore and the node-port rules share one name (different kinds)
  const name = `drill-${source.slice(0, 40).replace(/-+$/, "")}-${id}`;
  const scratch = `${source.slice(0, 45).replace(/-+$/, "")}-drill-${id}`;
  refuseUnsafeTargets(await inspectTargets(velero.kube, [{ source, target: scratch }]), {
    allowNonEmpty: false,
    keepSystem: false,
    veleroNamespace: velero.namespace,
  });

  const result: DrillResult = {
    pass: false,
    context: velero.kube.context,
    namespace: source,
    scratchNamespace: scratch,
    backup: name,
    restore: name,
    backupPhase: "",
    restorePhase: "",
    objects: 0,
    backupSeconds: 0,
    rtoSeconds: 0,
    totalSeconds: 0,
    cleanedUp: false,
    kept: options.keep === true,
    leftBehind: [],
  };
  const made: Made = { stage: "backup", backup: false, modifier: false, restore: false };
  try {
    await run(ctx, velero, result, made, location.metadata.name as string, timeoutMs);
  } catch (error) {
    if ((error instanceof InfraError && error.kind === "interrupted") || ctx.signal?.aborted) {
      throw await interrupted(velero, result, made, options.keep === true);
    }
    result.failure = error instanceof Error ? error.message : String(error);
  }
  made.stage = "cleanup";
  if (made.backup) result.logs = await keepLogs(ctx, velero, result, made);
  if (!options.keep) await cleanUp(ctx, velero, result, made, timeoutMs);
  // Ctrl-C during cleanup: what it had not yet asked the cluster to remove goes the interrupt's way
  if (ctx.signal?.aborted) throw await interrupted(velero, result, made, options.keep === true);
  result.totalSeconds = (Date.now() - started) / 1000;
  return outcome(result, render, result.pass && (result.cleanedUp || result.kept) ? undefined : 1);
}

async function run(
  ctx: CommandContext,
  velero: Velero,
  result: DrillResult,
  made: Made,
  location: string,
  timeoutMs: number,
): Promise<void> {
  const source = result.namespace;
  const labels = { [CREATED_BY_LABEL]: CREATED_BY, [DRILL_LABEL]: "true" };
  ctx.reporter.phase(`Back up namespace ${source}`);
  const types = await comparedTypes(velero);
  const backup: Backup = {
    apiVersion: VELERO_API,
    kind: "Backup",
    metadata: { name: result.backup, namespace: velero.namespace, labels },
    spec: {
      includedNamespaces: [source],
      ttl: "24h0m0s",
      storageLocation: location,
      snapshotVolumes: false,
      defaultVolumesToFsBackup: true,
    },
  };
  const backupStarted = Date.now();
  checkpoint(ctx);
  // marked before the request: a Ctrl-C cancels it in flight, after the server may have made it
  made.backup = true;
  await velero.kube.create(velero.path("backups"), backup);
  const finished = await waitForBackup(ctx, velero, result.backup, timeoutMs);
  result.backupSeconds = (Date.now() - backupStarted) / 1000;
  result.backupPhase = finished.status?.phase ?? "";
  if (backupPhaseState(result.backupPhase) !== "completed") {
    result.failure = `backup ended ${result.backupPhase}${finished.status?.failureReason ? `: ${finished.status.failureReason}` : ""}`;
    return;
  }
  // the state we compare against: the namespace as it is right after the backup
  const before = await inventory(velero, source, types);
  result.objects = before.length;

  made.stage = "restore";
  ctx.reporter.phase(`Restore into scratch namespace ${result.scratchNamespace}`);
  const modifier = nodePortRules(before, source);
  checkpoint(ctx);
  if (modifier) {
    made.modifier = true;
    await velero.kube.create(resourcePath("v1", "configmaps", velero.namespace), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: result.restore, namespace: velero.namespace, labels },
      data: { "rules.yaml": JSON.stringify(modifier) },
    });
  }
  const restore: Restore = {
    apiVersion: VELERO_API,
    kind: "Restore",
    metadata: { name: result.restore, namespace: velero.namespace, labels },
    spec: {
      backupName: result.backup,
      includedNamespaces: [source],
      namespaceMapping: { [source]: result.scratchNamespace },
      restorePVs: true,
      ...(modifier ? { resourceModifier: { kind: "ConfigMap", name: result.restore } } : {}),
    },
  };
  const restoreStarted = Date.now();
  checkpoint(ctx);
  made.restore = true;
  await velero.kube.create(velero.path("restores"), restore);
  const restored = await waitForRestore(ctx, velero, result.restore, timeoutMs);
  result.rtoSeconds = (Date.now() - restoreStarted) / 1000;
  const summary = restoreSummary(restored);
  result.restorePhase = summary.phase;
  if (summary.state !== "completed") {
    result.failure = `restore ended ${summary.phase}${summary.failureReason ? `: ${summary.failureReason}` : ""} (${summary.errors ?? 0} errors)`;
    return;
  }

  made.stage = "comparison";
  ctx.reporter.phase(`Compare ${source} with ${result.scratchNamespace}`);
  const after = await inventory(velero, result.scratchNamespace, types);
  result.comparison = compareNamespaces(before, after, source, result.scratchNamespace, {
    nodePortsReassigned: modifier !== undefined,
  });
  const namespaceDiff = await compareNamespaceObjects(velero, source, result.scratchNamespace);
  if (namespaceDiff.length)
    result.comparison.different.push({ object: `Namespace/${source}`, paths: namespaceDiff });
  const { missing, different } = result.comparison;
  if (missing.length || different.length) {
    result.failure = `${missing.length} objects missing, ${different.length} differ after the restore`;
  } else result.pass = true;
}

/** Stops before the next change when Ctrl-C came during a request (waits notice it themselves). */
function checkpoint(ctx: CommandContext): void {
  if (ctx.signal?.aborted) throw new InfraError("INTERRUPTED", "interrupted", { kind: "interrupted" });
}

/** Every namespaced type a restore brings back: all listable ones but events (never restored). */
async function comparedTypes(velero: Velero): Promise<ResourceType[]> {
  return (await discoverResources(velero.kube)).filter(
    (t) =>
      t.namespaced &&
      t.verbs.includes("list") &&
      t.kind !== "Event" &&
      !t.apiVersion.startsWith("metrics.k8s.io/") &&
      !t.apiVersion.startsWith("velero.io/"),
  );
}

async function inventory(velero: Velero, namespace: string, types: ResourceType[]): Promise<InventoryItem[]> {
  return namespaceInventory(velero.kube, namespace, types, { includeDefaults: true });
}

/** The namespace's own labels and annotations come back too. */
async function compareNamespaceObjects(velero: Velero, source: string, scratch: string): Promise<string[]> {
  const [a, b] = await Promise.all(
    [source, scratch].map((ns) =>
      velero.kube.get<KubeObject>(resourcePath("v1", "namespaces", undefined, ns)),
    ),
  );
  const meta = (o: KubeObject | undefined) => {
    const n = normalize(o as KubeObject, source, scratch) as KubeObject;
    return { labels: n.metadata.labels, annotations: n.metadata.annotations };
  };
  return diffPaths(meta(a), meta(b));
}

/**
 * Velero keeps node ports it thinks were set by hand (and a restore into an empty cluster should),
 * but in the same cluster the copy's Service would collide with the original. A resource modifier
 * (JSON merge patch per Service) gives the copy ports without them, so the API server assigns new.
 */
export function nodePortRules(items: InventoryItem[], source: string): unknown {
  const rules = items
    .filter((i) => i.kind === "Service" && i.apiVersion === "v1")
    .flatMap((i) => {
      const spec = (
        i.object as KubeObject & {
          spec?: { ports?: Record<string, unknown>[]; healthCheckNodePort?: number };
        }
      ).spec;
      const ports = spec?.ports ?? [];
      if (!ports.some((p) => p.nodePort) && !spec?.healthCheckNodePort) return [];
      const patch = {
        spec: { ports: ports.map(({ nodePort: _drop, ...port }) => port), healthCheckNodePort: null },
      };
      return [
        {
          conditions: {
            groupResource: "services",
            resourceNameRegex: `^${i.name.replaceAll(".", "\\.")}$`,
            namespaces: [source],
          },
          mergePatches: [{ patchData: JSON.stringify(patch) }],
        },
      ];
    });
  return rules.length ? { version: "v1", resourceModifierRules: rules } : undefined;
}

/** Velero's logs of the drill, saved before cleanup deletes them with the backup. */
async function keepLogs(
  ctx: CommandContext,
  velero: Velero,
  result: DrillResult,
  made: Made,
): Promise<DrillResult["logs"]> {
  const dir = join(ctx.cwd, ".infra", "logs", result.backup);
  const wanted: [string, string, string][] = [];
  if (isTerminal(backupPhaseState(result.backupPhase)))
    wanted.push(["BackupLog", result.backup, "backup.log"]);
  if (made.restore && isTerminal(restorePhaseState(result.restorePhase))) {
    wanted.push(
      ["RestoreLog", result.restore, "restore.log"],
      ["RestoreResults", result.restore, "restore-results.json"],
    );
  }
  const excerpt: string[] = [];
  try {
    await mkdir(dir, { recursive: true });
    for (const [kind, name, file] of wanted) {
      const text = await velero
        .download(kind, name, 60_000, ctx.signal)
        .catch((e: Error) => `could not fetch: ${e.message}`);
      await writeFile(join(dir, file), text);
      if (!result.pass) {
        excerpt.push(
          ...text
            .split("\n")
            .filter((l) => /level=(error|warning)|"(errors|warnings)"/.test(l))
            .slice(0, 10)
            .map((l) => `${file}: ${l.slice(0, 300)}`),
        );
      }
    }
  } catch (error) {
    excerpt.push(`could not keep the logs: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { dir, excerpt };
}

/** After a normal end: everything the drill made goes, waited for; what stays is named. */
async function cleanUp(
  ctx: CommandContext,
  velero: Velero,
  result: DrillResult,
  made: Made,
  timeoutMs: number,
): Promise<void> {
  ctx.reporter.phase("Clean up the drill");
  const left: string[] = [];
  const bound = Math.min(timeoutMs, 300_000);
  const nsPath = resourcePath("v1", "namespaces", undefined, result.scratchNamespace);
  if (made.modifier) {
    await velero.kube.delete(resourcePath("v1", "configmaps", velero.namespace, result.restore)).then(
      () => {
        made.modifier = false;
      },
      (error: unknown) => {
        if (isNotFound(error)) made.modifier = false;
        else left.push(leftover.modifier(velero, result));
      },
    );
  }
  // Ctrl-C while waiting for a deletion: it was asked for and goes on without us
  const interruptedWait = (error: unknown) => error instanceof InfraError && error.kind === "interrupted";
  let deleting = false;
  try {
    if (await velero.kube.find(nsPath)) {
      await velero.kube.delete(nsPath);
      deleting = true;
      made.restore = false;
      await waitFor(async () => ((await velero.kube.find(nsPath)) ? undefined : true), {
        timeoutMs: bound,
        signal: ctx.signal,
        what: `namespace ${result.scratchNamespace} to be deleted`,
        hint: leftover.namespace(result),
      });
    }
  } catch (error) {
    if (!(deleting && interruptedWait(error)))
      left.push(`${leftover.namespace(result)} (${error instanceof Error ? error.message : String(error)})`);
  }
  if (made.backup) {
    try {
      const backup = await velero.kube.find<Backup>(velero.path("backups", result.backup));
      if (backup) {
        const deletion = await requestDeletion(
          ctx,
          velero,
          result.backup,
          backup.metadata.uid as string,
          true,
          bound,
        );
        if (deletion.errors.length)
          left.push(`${leftover.backup(result)} (Velero: ${deletion.errors.join("; ")})`);
      }
      made.backup = false;
    } catch (error) {
      // requestDeletion only waits (and so is interrupted) after its request was created
      if (!interruptedWait(error))
        left.push(`${leftover.backup(result)} (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  result.leftBehind = left;
  result.cleanedUp = left.length === 0;
}

const leftover = {
  namespace: (r: DrillResult) =>
    `scratch namespace ${r.scratchNamespace}: kubectl delete namespace ${r.scratchNamespace}`,
  backup: (r: DrillResult) =>
    `drill backup ${r.backup} and its restore: infra backup delete ${r.backup} --yes`,
  modifier: (v: Velero, r: DrillResult) =>
    `node-port rules ConfigMap ${r.restore}: kubectl -n ${v.namespace} delete configmap ${r.restore}`,
};

/**
 * Ctrl-C: remove what the drill made without waiting for it to be gone (the command must exit
 * within seconds), and say in one line what was done and what is left.
 */
async function interrupted(
  velero: Velero,
  result: DrillResult,
  made: Made,
  keep: boolean,
): Promise<InfraError> {
  const done: string[] = [];
  const left: string[] = [];
  // the command's own client cancels every request after Ctrl-C; these few are bounded by `within`
  const kube = velero.kube.uncancellable();
  const deadline = Date.now() + INTERRUPT_CLEANUP_MS;
  const within = <T>(work: Promise<T>): Promise<T> =>
    Promise.race([
      work,
      new Promise<T>((_, reject) =>
        setTimeout(() => reject(new Error("no answer in time")), Math.max(0, deadline - Date.now())).unref(),
      ),
    ]);
  if (keep) {
    if (made.backup) left.push(leftover.backup(result));
    if (made.restore) left.push(leftover.namespace(result));
  } else {
    if (made.modifier) {
      await within(kube.delete(resourcePath("v1", "configmaps", velero.namespace, result.restore))).then(
        () => done.push(`node-port rules deleted`),
        (error: unknown) => {
          if (!isNotFound(error)) left.push(leftover.modifier(velero, result));
        },
      );
    }
    if (made.restore) {
      const nsPath = resourcePath("v1", "namespaces", undefined, result.scratchNamespace);
      const deleted = await within(kube.delete(nsPath)).then(
        () => "deleted",
        (error: unknown) => (isNotFound(error) ? "absent" : "failed"),
      );
      // absent: Velero may not have created it yet, and a running restore still will
      const running = await within(kube.find<Restore>(velero.path("restores", result.restore))).then(
        (r) => !!r && !isTerminal(restorePhaseState(r.status?.phase)),
        () => true,
      );
      if (deleted === "deleted") done.push(`scratch namespace ${result.scratchNamespace} is being deleted`);
      else if (deleted === "failed" || running) left.push(leftover.namespace(result));
    }
    if (made.backup) {
      try {
        const backup = await within(kube.find<Backup>(velero.path("backups", result.backup)));
        const state = backupPhaseState(backup?.status?.phase);
        if (!backup) {
          // never made, or already gone
        } else if (!isTerminal(state)) {
          left.push(
            `drill backup ${result.backup} (${backup.status?.phase || "New"}; Velero refuses to delete a running backup): when it ends, infra backup delete ${result.backup} --yes`,
          );
        } else {
          // a Ctrl-C during cleanup may come after its deletion request was made
          const requested = await within(
            kube.list(velero.path("deletebackuprequests"), {
              labelSelector: `velero.io/backup-name=${result.backup}`,
            }),
          );
          if (requested.length === 0) {
            await within(
              kube.create(velero.path("deletebackuprequests"), {
                apiVersion: VELERO_API,
                kind: "DeleteBackupRequest",
                metadata: {
                  generateName: `${result.backup}-`,
                  namespace: velero.namespace,
                  labels: {
                    "velero.io/backup-name": result.backup,
                    "velero.io/backup-uid": backup.metadata.uid as string,
                    [CREATED_BY_LABEL]: CREATED_BY,
                  },
                },
                spec: { backupName: result.backup },
              }),
            );
          }
          done.push(
            `deletion of drill backup ${result.backup}${made.restore ? " and its restore" : ""} requested`,
          );
        }
      } catch {
        left.push(leftover.backup(result));
      }
    }
  }
  const state = [
    `dr drill interrupted during the ${made.stage}`,
    done.length ? done.join("; ") : "",
    left.length ? `left behind: ${left.map((l) => l.split(":")[0]).join(", ")}` : "nothing is left behind",
  ]
    .filter(Boolean)
    .join("; ");
  return new InfraError("INTERRUPTED", state, {
    kind: "interrupted",
    hint: left.length
      ? `remove what is left: ${left.map((l) => l.slice(l.indexOf(":") + 2)).join("; ")}`
      : undefined,
  });
}

function render(r: DrillResult): string {
  const lines = [
    r.pass
      ? `✓ DR drill PASSED for namespace ${r.namespace} on context ${r.context}: ${r.comparison?.matched ?? 0} objects restored identical.`
      : `✗ DR drill FAILED for namespace ${r.namespace} on context ${r.context}: ${r.failure ?? "unknown reason"}`,
    `  backup   ${r.backup}: ${r.backupPhase || "-"} in ${formatDuration(r.backupSeconds * 1000)}`,
    `  restore  ${r.restore} -> ${r.scratchNamespace}: ${r.restorePhase || "-"}, RTO ${r.rtoSeconds.toFixed(1)} s`,
    `  total    ${r.totalSeconds.toFixed(1)} s`,
  ];
  if (r.comparison) {
    const c = r.comparison;
    lines.push(`  compared ${c.compared} objects, ${c.matched} identical`);
    for (const m of c.missing.slice(0, 10)) lines.push(`  missing  ${m}`);
    for (const d of c.different.slice(0, 10)) lines.push(`  differs  ${d.object}: ${d.paths.join(", ")}`);
    for (const e of c.expected.slice(0, 10)) lines.push(`  expected ${e.object}: ${e.what}`);
    if (c.expected.length > 10) lines.push(`  expected ... and ${c.expected.length - 10} more`);
    const reasons = new Map<string, number>();
    for (const n of c.notCompared) reasons.set(n.why, (reasons.get(n.why) ?? 0) + 1);
    for (const [why, n] of reasons) lines.push(`  not compared ${n}: ${why}`);
  }
  if (r.logs) {
    if (!r.pass) for (const l of r.logs.excerpt) lines.push(`  log      ${l}`);
    lines.push(`  logs     ${r.logs.dir}`);
  }
  if (r.kept) lines.push(`  kept     namespace ${r.scratchNamespace} and backup ${r.backup} (--keep)`);
  else if (r.cleanedUp) lines.push("  cleanup  scratch namespace, drill backup and its restore deleted");
  else for (const l of r.leftBehind) lines.push(`  left     ${l}`);
  return lines.join("\n");
}
