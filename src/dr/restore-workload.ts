/**
 * `infra dr restore-workload APP`: restore the app's namespace from the newest Completed backup
 * that holds it (a PartiallyFailed one only when no Completed one does), saying which and why; then
 * check that every object the backup holds for it exists — leaving out the types Velero never
 * restores (events) and those the cluster makes by itself — and explain each one that does not.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type ClusterOptions, openVelero } from "../backup/common.js";
import { backupRestoreCommand, itemOutcomes, type RestoreResult, renderRestore } from "../backup/restore.js";
import {
  type Backup,
  type BackupItem,
  backupPhaseState,
  isRestorable,
  isRestoredByVelero,
  splitRef,
  splitType,
  type Velero,
} from "../backup/velero.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { resourcePath } from "../kube/client.js";
import { discoverResources, mapLimit } from "../kube/discovery.js";
import { isGeneratedType } from "../kube/inventory.js";
import { durationOption } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";

export type { BackupItem };

export interface RestoreWorkloadOptions extends ClusterOptions {
  app: string;
  backup?: string | undefined;
  allowNonEmpty?: boolean | undefined;
  existingResourcePolicy?: string | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  timeout?: string | undefined;
}

export interface RestoreWorkloadResult {
  app: string;
  backup: string;
  backupPhase: string;
  backupCompleted?: string | undefined;
  /** Why this backup: the rule that chose it and the newer ones passed over. */
  why: string;
  dryRun: boolean;
  restore?: RestoreResult | undefined;
  /** Objects of the app the restore must bring back (the ones checked afterwards). */
  expected: number;
  /** Objects in the backup of types Velero does not restore or the cluster makes by itself. */
  unchecked: number;
  present: number;
  missing: string[];
}

export async function restoreWorkloadCommand(
  ctx: CommandContext,
  options: RestoreWorkloadOptions,
): Promise<Outcome<RestoreWorkloadResult>> {
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const velero = await openVelero(ctx, options);
  const { backup, items, why } = await latestBackupWith(velero, options.app, options.backup, ctx.signal);
  const checked = items.filter((item) => isCheckedAfterRestore(item.type));
  const base = {
    app: options.app,
    backup: backup.metadata.name as string,
    backupPhase: backup.status?.phase ?? "",
    backupCompleted: backup.status?.completionTimestamp,
    why,
    expected: checked.length,
    unchecked: items.length - checked.length,
  };
  ctx.reporter.step(`app ${options.app}`, `using backup ${base.backup}: ${why}`);
  const restore = await backupRestoreCommand(ctx, {
    ...options,
    name: base.backup,
    namespaces: [options.app],
    wait: true,
    timeout: options.timeout,
  });
  if (options.dryRun) {
    return outcome(
      { ...base, dryRun: true, restore: restore.data, present: 0, missing: [] },
      (r) =>
        `Dry run: would restore ${r.app} from backup ${r.backup} (${r.why}) and check its ${r.expected} objects; nothing changed.`,
    );
  }
  if (restore.data.state === "failed") {
    return outcome({ ...base, dryRun: false, restore: restore.data, present: 0, missing: [] }, render, 1);
  }
  ctx.reporter.phase(`Check that the objects of ${options.app} exist`);
  const paths = await objectPaths(velero, checked);
  const missing = await presence(ctx, velero, paths, timeoutMs);
  const result: RestoreWorkloadResult = {
    ...base,
    dryRun: false,
    restore: restore.data,
    present: paths.length - missing.length,
    missing: missing.length ? await whyMissing(velero, restore.data.name, missing, ctx.signal) : [],
  };
  const ok = missing.length === 0 && restore.data.state === "completed";
  return outcome(result, render, ok ? undefined : 1);
}

/**
 * Which objects exist. Velero has created every object it restores by the time the restore ends,
 * so only a short settling time is given (a controller may re-create one), and only while the
 * count still grows: an object the backup cannot bring back is reported at once, not waited for.
 */
const SETTLE_MS = 10_000;

async function presence(
  ctx: CommandContext,
  velero: Velero,
  paths: [BackupItem, string, string][],
  timeoutMs: number,
): Promise<[BackupItem, string][]> {
  const deadline = Date.now() + timeoutMs;
  let missing: [BackupItem, string][] = [];
  let best = -1;
  let grewAt = Date.now();
  for (;;) {
    missing = [];
    await mapLimit(paths, 8, async ([item, label, path]) => {
      if (!(await velero.kube.find(path))) missing.push([item, label]);
    });
    const present = paths.length - missing.length;
    if (present > best) {
      ctx.reporter.step(`objects`, `${present}/${paths.length} exist`);
      best = present;
      grewAt = Date.now();
    }
    if (missing.length === 0 || Date.now() - grewAt > SETTLE_MS || Date.now() > deadline) return missing;
    if (ctx.signal?.aborted) {
      throw new InfraError("INTERRUPTED", `interrupted while checking the objects of the restore`, {
        kind: "interrupted",
        hint: "the restore itself has finished; `infra backup describe` shows it",
      });
    }
    await sleep(1000);
  }
}

/** Each missing object with Velero's account of it, from the restore's own resource list and results. */
async function whyMissing(
  velero: Velero,
  restore: string,
  missing: [BackupItem, string][],
  signal?: AbortSignal,
): Promise<string[]> {
  const [items, outcomes] = await Promise.all([
    velero.restoredItems(restore, signal).catch(() => undefined),
    itemOutcomes(velero, restore, signal).catch(() => undefined),
  ]);
  return missing.map(([item, label]) => {
    const done = items?.find((i) => i.type === item.type && i.ref === item.ref);
    if (!items) return label;
    if (!done)
      return `${label}: not in the backup's contents (listed by Velero, but not stored), so no restore brings it back`;
    if (done.action === "failed") {
      const reason = outcomes?.notRestored.find((n) => n.startsWith(`${label} in`));
      return `${label}: Velero could not restore it${reason ? ` (${reason.slice(reason.indexOf(":") + 2)})` : ""}`;
    }
    if (done.action === "skipped")
      return `${label}: skipped by Velero (see infra backup logs ${restore} --restore)`;
    return `${label}: restored, then deleted again (by a controller or the garbage collector?)`;
  });
}

/** The newest restorable backup whose stored resource list has objects in the namespace; Completed first. */
export async function latestBackupWith(
  velero: Velero,
  namespace: string,
  wanted: string | undefined,
  signal?: AbortSignal,
): Promise<{ backup: Backup; items: BackupItem[]; why: string }> {
  const itemsOf = async (b: Backup) =>
    (await velero.backupItems(b.metadata.name as string, signal)).filter((i) =>
      i.ref.startsWith(`${namespace}/`),
    );
  if (wanted) {
    const backup = await velero.backup(wanted);
    const items = isRestorable(backup) ? await itemsOf(backup) : [];
    if (items.length > 0)
      return {
        backup,
        items,
        why: `named with --backup (${backup.status?.phase}, ${items.length} objects of ${namespace})`,
      };
    throw new InfraError(
      "NO_BACKUP_FOR_APP",
      `backup ${wanted} holds no objects of ${namespace}${isRestorable(backup) ? "" : ` (it is ${backup.status?.phase || "New"})`}`,
      {
        hint: "leave out --backup to use the newest backup that holds it, or pick one from `infra backup list`",
      },
    );
  }
  const started = (b: Backup) => b.status?.startTimestamp ?? b.metadata.creationTimestamp ?? "";
  const newestFirst = (await velero.backups())
    .filter((b) => isRestorable(b) && covers(b, namespace))
    .sort((a, b) => started(b).localeCompare(started(a)));
  const passed: string[] = [];
  let fallback: { backup: Backup; items: BackupItem[] } | undefined;
  for (const backup of newestFirst) {
    const name = backup.metadata.name as string;
    const completed = backupPhaseState(backup.status?.phase) === "completed";
    if (!completed && fallback) continue;
    const items = await itemsOf(backup);
    if (items.length === 0) {
      passed.push(`${name} holds none of its objects`);
      continue;
    }
    if (!completed) {
      fallback ??= { backup, items };
      passed.push(`${name} is ${backup.status?.phase}`);
      continue;
    }
    const skipped = passed.length ? `; newer ones skipped: ${passed.join(", ")}` : "";
    return {
      backup,
      items,
      why: `newest Completed backup holding ${namespace} (${items.length} objects, made ${started(backup)})${skipped}`,
    };
  }
  if (fallback) {
    return {
      ...fallback,
      why: `no Completed backup holds ${namespace}; newest PartiallyFailed one (${fallback.items.length} objects; what failed to back up is missing: infra backup logs ${fallback.backup.metadata.name})`,
    };
  }
  throw new InfraError(
    "NO_BACKUP_FOR_APP",
    `no Completed or PartiallyFailed backup holds objects in namespace ${namespace}`,
    {
      hint: "list backups with `infra backup list`; create one with `infra backup create -n <namespace> --wait`",
    },
  );
}

function covers(backup: Backup, namespace: string): boolean {
  const included = backup.spec.includedNamespaces ?? [];
  if ((backup.spec.excludedNamespaces ?? []).includes(namespace)) return false;
  return included.length === 0 || included.includes("*") || included.includes(namespace);
}

/** Events are never restored; endpoints, slices and leases are the cluster's to remake. */
function isCheckedAfterRestore(type: string): boolean {
  return isRestoredByVelero(type) && !isGeneratedType(type);
}

/** Each item with its label and REST path, using discovery for the plural. */
async function objectPaths(velero: Velero, items: BackupItem[]): Promise<[BackupItem, string, string][]> {
  const types = await discoverResources(velero.kube);
  const out: [BackupItem, string, string][] = [];
  for (const item of items) {
    const [apiVersion, kind] = splitType(item.type);
    const [ns, name] = splitRef(item.ref);
    const resource = types.find((t) => t.apiVersion === apiVersion && t.kind === kind);
    if (!resource || !ns || !name) continue;
    out.push([item, `${kind}/${name}`, resourcePath(apiVersion, resource.plural, ns, name)]);
  }
  return out;
}

function render(r: RestoreWorkloadResult): string {
  const lines: string[] = [];
  if (r.restore && r.restore.state === "failed") {
    lines.push(`✗ Restoring ${r.app} from ${r.backup}: restore ${r.restore.name} ended ${r.restore.phase}.`);
    lines.push(`  See why: infra backup logs ${r.restore.name} --restore`);
    return lines.join("\n");
  }
  if (r.missing.length) {
    lines.push(
      `✗ ${r.app}: ${r.present}/${r.expected} objects back after restoring ${r.backup} on context ${r.restore?.context}; missing:`,
    );
    for (const m of r.missing.slice(0, 20)) lines.push(`  ${m}`);
    if (r.missing.length > 20) lines.push(`  ... and ${r.missing.length - 20} more`);
  } else if (r.restore && r.restore.state !== "completed") {
    lines.push(renderRestore(r.restore));
  } else {
    lines.push(
      `✓ ${r.app} restored from ${r.backup} on context ${r.restore?.context}: all ${r.expected} objects exist (restore ${r.restore?.name}).`,
    );
  }
  lines.push(`  backup   ${r.why}`);
  if (r.unchecked) {
    lines.push(
      `  not checked: ${r.unchecked} events and objects the cluster remakes itself (endpoints, leases)`,
    );
  }
  return lines.join("\n");
}
