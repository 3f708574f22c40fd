/**
 * `infra dr drill`: an automated restore test. Back up one namespace, restore it into a scratch
 * namespace, compare every object, report pass or fail with the measured restore time (RTO), and
 * clean up (scratch namespace and drill backup) whatever the outcome.
 */
import { type ClusterOptions, openVelero } from "../backup/common.js";
import { requestDeletion } from "../backup/delete.js";
import { waitForBackup, waitForRestore } from "../backup/progress.js";
import { checkTargets, restoreSummary } from "../backup/restore.js";
import {
  type Backup,
  backupPhaseState,
  CREATED_BY,
  CREATED_BY_LABEL,
  type Restore,
  timestampSuffix,
  VELERO_API,
  type Velero,
} from "../backup/velero.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { resourcePath } from "../kube/client.js";
import { namespacedTypes, namespaceInventory } from "../kube/inventory.js";
import { durationOption, formatDuration, waitFor } from "../kube/wait.js";
import type { Outcome } from "../outcome.js";
import { type Comparison, compareNamespaces } from "./compare.js";

export const DRILL_LABEL = "infra.k3s/drill";

export interface DrillOptions extends ClusterOptions {
  namespace: string;
  keep?: boolean | undefined;
  timeout?: string | undefined;
}

export interface DrillResult {
  pass: boolean;
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
  cleanedUp: boolean;
  kept: boolean;
  cleanupErrors: string[];
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
      location: { path: "--namespace" },
      hint: "pick a namespace that holds an application: --namespace <name>",
    });
  }
  const location = await velero.usableLocation(undefined, true);
  const stamp = timestampSuffix();
  const id = stamp.replace("-", "").slice(4); // MMDDhhmmss
  const backupName = `drill-${source.slice(0, 40)}-${id}`;
  const scratch = `${source.slice(0, 45)}-drill-${id}`;
  const restoreName = `${backupName}-restore`;
  await checkTargets(velero, [scratch], false);

  const result: DrillResult = {
    pass: false,
    namespace: source,
    scratchNamespace: scratch,
    backup: backupName,
    restore: restoreName,
    backupPhase: "",
    restorePhase: "",
    objects: 0,
    backupSeconds: 0,
    rtoSeconds: 0,
    totalSeconds: 0,
    cleanedUp: false,
    kept: options.keep === true,
    cleanupErrors: [],
  };
  const labels = { [CREATED_BY_LABEL]: CREATED_BY, [DRILL_LABEL]: "true" };
  let backupCreated = false;
  try {
    ctx.reporter.phase(`Back up namespace ${source}`);
    const types = await namespacedTypes(velero.kube);
    const backup: Backup = {
      apiVersion: VELERO_API,
      kind: "Backup",
      metadata: { name: backupName, namespace: velero.namespace, labels },
      spec: {
        includedNamespaces: [source],
        ttl: "24h0m0s",
        storageLocation: location.metadata.name as string,
        snapshotVolumes: false,
        defaultVolumesToFsBackup: true,
      },
    };
    const backupStarted = Date.now();
    await velero.kube.create(velero.path("backups"), backup);
    backupCreated = true;
    const finished = await waitForBackup(ctx, velero, backupName, timeoutMs);
    result.backupSeconds = (Date.now() - backupStarted) / 1000;
    result.backupPhase = finished.status?.phase ?? "";
    if (backupPhaseState(result.backupPhase) !== "completed") {
      result.failure = `backup ended ${result.backupPhase}${finished.status?.failureReason ? `: ${finished.status.failureReason}` : ""}`;
      return finish(result, started);
    }
    // the state we compare against: the namespace as it is right after the backup
    const before = await namespaceInventory(velero.kube, source, types);
    result.objects = before.length;

    ctx.reporter.phase(`Restore into scratch namespace ${scratch}`);
    const restore: Restore = {
      apiVersion: VELERO_API,
      kind: "Restore",
      metadata: { name: restoreName, namespace: velero.namespace, labels },
      spec: {
        backupName,
        includedNamespaces: [source],
        namespaceMapping: { [source]: scratch },
        restorePVs: true,
      },
    };
    const restoreStarted = Date.now();
    await velero.kube.create(velero.path("restores"), restore);
    const restored = await waitForRestore(ctx, velero, restoreName, timeoutMs);
    result.rtoSeconds = (Date.now() - restoreStarted) / 1000;
    const summary = restoreSummary(restored);
    result.restorePhase = summary.phase;
    if (summary.state !== "completed") {
      result.failure = `restore ended ${summary.phase}${summary.failureReason ? `: ${summary.failureReason}` : ""} (${summary.errors ?? 0} errors)`;
      return finish(result, started);
    }

    ctx.reporter.phase(`Compare ${source} with ${scratch}`);
    const after = await namespaceInventory(velero.kube, scratch, types);
    result.comparison = compareNamespaces(before, after, source, scratch);
    const { missing, different } = result.comparison;
    if (missing.length || different.length) {
      result.failure = `${missing.length} objects missing, ${different.length} differ after the restore`;
    } else result.pass = true;
    return finish(result, started);
  } catch (error) {
    if (error instanceof InfraError && error.kind === "interrupted") throw error;
    result.failure = error instanceof Error ? error.message : String(error);
    return finish(result, started);
  } finally {
    if (!options.keep) await cleanUp(ctx, velero, result, backupCreated, timeoutMs);
    result.totalSeconds = (Date.now() - started) / 1000;
  }
}

function finish(result: DrillResult, started: number): Outcome<DrillResult> {
  result.totalSeconds = (Date.now() - started) / 1000;
  return {
    data: result,
    human: render,
    // read after the clean-up (in drillCommand's finally) has run: a failed clean-up fails the drill
    get exitCode() {
      return result.pass && (result.kept || result.cleanedUp) ? undefined : 1;
    },
  };
}

async function cleanUp(
  ctx: CommandContext,
  velero: Velero,
  result: DrillResult,
  backupCreated: boolean,
  timeoutMs: number,
): Promise<void> {
  ctx.reporter.phase("Clean up the drill");
  const errors: string[] = [];
  const nsPath = resourcePath("v1", "namespaces", undefined, result.scratchNamespace);
  try {
    if (await velero.kube.find(nsPath)) {
      await velero.kube.delete(nsPath);
      await waitFor(async () => ((await velero.kube.find(nsPath)) ? undefined : true), {
        timeoutMs: Math.min(timeoutMs, 300_000),
        signal: ctx.signal,
        what: `namespace ${result.scratchNamespace} to be deleted`,
        hint: `delete it yourself: kubectl delete namespace ${result.scratchNamespace}`,
      });
    }
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  if (backupCreated) {
    try {
      const backup = await velero.kube.find<Backup>(velero.path("backups", result.backup));
      if (backup) {
        const deletion = await requestDeletion(
          ctx,
          velero,
          result.backup,
          backup.metadata.uid as string,
          true,
          Math.min(timeoutMs, 300_000),
        );
        errors.push(...deletion.errors);
      }
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  result.cleanupErrors = errors;
  result.cleanedUp = errors.length === 0;
}

function render(r: DrillResult): string {
  const lines = [
    r.pass
      ? `✓ DR drill PASSED for namespace ${r.namespace}: ${r.comparison?.matched ?? 0} objects restored identical.`
      : `✗ DR drill FAILED for namespace ${r.namespace}: ${r.failure ?? "unknown reason"}`,
    `  backup   ${r.backup}: ${r.backupPhase || "-"} in ${formatDuration(r.backupSeconds * 1000)}`,
    `  restore  ${r.restore} -> ${r.scratchNamespace}: ${r.restorePhase || "-"}, RTO ${r.rtoSeconds.toFixed(1)} s`,
    `  total    ${r.totalSeconds.toFixed(1)} s`,
  ];
  if (r.comparison) {
    const c = r.comparison;
    lines.push(`  compared ${c.compared} objects (${c.skippedOwned} owned by controllers not compared)`);
    for (const m of c.missing.slice(0, 10)) lines.push(`  missing  ${m}`);
    for (const d of c.different.slice(0, 10)) lines.push(`  differs  ${d.object}: ${d.paths.join(", ")}`);
  }
  if (r.kept) lines.push(`  kept     namespace ${r.scratchNamespace} and backup ${r.backup} (--keep)`);
  else if (r.cleanedUp) lines.push("  cleanup  scratch namespace and drill backup deleted");
  else {
    lines.push(`  cleanup  incomplete: ${r.cleanupErrors.join("; ")}`);
    lines.push(
      `✗ the drill may have left namespace ${r.scratchNamespace} and backup ${r.backup}: kubectl delete namespace ${r.scratchNamespace}; infra backup delete ${r.backup} --yes`,
    );
  }
  return lines.join("\n");
}
