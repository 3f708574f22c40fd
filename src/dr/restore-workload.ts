/**
 * `infra dr restore-workload APP`: find the latest completed backup that holds the app's namespace,
 * restore that namespace from it, then wait until every object the backup holds for it exists —
 * leaving out the types Velero never restores (events) and those the cluster makes by itself.
 */
import { type ClusterOptions, openVelero } from "../backup/common.js";
import { backupRestoreCommand, type RestoreResult } from "../backup/restore.js";
import { type Backup, isRestorable, isRestoredByVelero, type Velero } from "../backup/velero.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { resourcePath } from "../kube/client.js";
import { discoverResources } from "../kube/discovery.js";
import { isGeneratedType } from "../kube/inventory.js";
import { durationOption, waitFor } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";

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
  backupCompleted?: string | undefined;
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
  const { backup, items } = await latestBackupWith(velero, options.app, options.backup, ctx.signal);
  const checked = items.filter((item) => isCheckedAfterRestore(item.type));
  const base = {
    app: options.app,
    backup: backup.metadata.name as string,
    backupCompleted: backup.status?.completionTimestamp,
    expected: checked.length,
    unchecked: items.length - checked.length,
  };
  ctx.reporter.step(`app ${options.app}`, `using backup ${base.backup} (${items.length} objects)`);
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
        `Dry run: would restore ${r.app} from backup ${r.backup} (completed ${r.backupCompleted ?? "-"}) and check its ${r.expected} objects; nothing changed.`,
    );
  }
  if (restore.data.state !== "completed") {
    return outcome({ ...base, dryRun: false, restore: restore.data, present: 0, missing: [] }, render, 1);
  }
  ctx.reporter.phase(`Wait until the objects of ${options.app} exist`);
  const paths = await objectPaths(velero, checked);
  let missing: string[] = [];
  await waitFor(
    async () => {
      missing = [];
      for (const [label, path] of paths) if (!(await velero.kube.find(path))) missing.push(label);
      return missing.length === 0 ? true : undefined;
    },
    {
      timeoutMs,
      signal: ctx.signal,
      what: `the objects of ${options.app} to exist`,
      hint: `check the restore's log: infra backup logs ${restore.data.name} --restore`,
    },
  ).catch((error: unknown) => {
    if (!(error instanceof InfraError && error.code === "WAIT_TIMEOUT")) throw error;
  });
  const result = {
    ...base,
    dryRun: false,
    restore: restore.data,
    present: paths.length - missing.length,
    missing,
  };
  return outcome(result, render, missing.length ? 1 : undefined);
}

/** One object of a backup's stored resource list: its type ("apps/v1/Deployment") and "ns/name". */
export interface BackupItem {
  type: string;
  ref: string;
}

/** The newest restorable backup whose stored resource list has objects in the namespace. */
export async function latestBackupWith(
  velero: Velero,
  namespace: string,
  wanted: string | undefined,
  signal?: AbortSignal,
): Promise<{ backup: Backup; items: BackupItem[] }> {
  const candidates = wanted
    ? [await velero.backup(wanted)]
    : (await velero.backups())
        .filter((b) => isRestorable(b) && covers(b, namespace))
        .sort((a, b) =>
          (b.status?.completionTimestamp ?? "").localeCompare(a.status?.completionTimestamp ?? ""),
        );
  for (const backup of candidates) {
    if (!isRestorable(backup)) break;
    const list = await velero.resourceList(backup.metadata.name as string, signal);
    const items: BackupItem[] = [];
    for (const [type, names] of Object.entries(list)) {
      for (const ref of names) if (ref.startsWith(`${namespace}/`)) items.push({ type, ref });
    }
    if (items.length > 0) return { backup, items };
  }
  throw new InfraError(
    "NO_BACKUP_FOR_APP",
    wanted
      ? `backup ${wanted} holds no objects of ${namespace}${isRestorable(candidates[0] as Backup) ? "" : ` (it is ${candidates[0]?.status?.phase || "New"})`}`
      : `no Completed or PartiallyFailed backup holds objects in namespace ${namespace}`,
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

/** Each item as [label, REST path], using discovery for the plural. */
async function objectPaths(velero: Velero, items: BackupItem[]): Promise<[string, string][]> {
  const types = await discoverResources(velero.kube);
  const out: [string, string][] = [];
  for (const { type, ref } of items) {
    const slash = type.lastIndexOf("/");
    const apiVersion = type.slice(0, slash);
    const kind = type.slice(slash + 1);
    const [ns, name] = ref.split("/");
    const resource = types.find((t) => t.apiVersion === apiVersion && t.kind === kind);
    if (!resource || !ns || !name) continue;
    out.push([`${kind}/${name}`, resourcePath(apiVersion, resource.plural, ns, name)]);
  }
  return out;
}

function render(r: RestoreWorkloadResult): string {
  const lines: string[] = [];
  if (r.restore && r.restore.state !== "completed") {
    lines.push(`✗ Restoring ${r.app} from ${r.backup}: restore ${r.restore.name} ended ${r.restore.phase}.`);
    lines.push(`  See why: infra backup logs ${r.restore.name} --restore`);
    return lines.join("\n");
  }
  if (r.missing.length) {
    lines.push(`✗ ${r.app}: ${r.present}/${r.expected} objects back after restoring ${r.backup}; missing:`);
    for (const m of r.missing.slice(0, 20)) lines.push(`  ${m}`);
  } else {
    lines.push(
      `✓ ${r.app} restored from ${r.backup}: all ${r.expected} objects exist (restore ${r.restore?.name}).`,
    );
  }
  if (r.unchecked) {
    lines.push(
      `  not checked: ${r.unchecked} events and objects the cluster remakes itself (endpoints, leases)`,
    );
  }
  return lines.join("\n");
}
