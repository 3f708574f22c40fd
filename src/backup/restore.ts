/**
 * `infra backup restore NAME`: a velero.io/v1 Restore that writes only where the operator said.
 * Before anything is created: every namespace named (by --namespace or as a mapping source) must be
 * in the backup, every target must be a valid namespace name, and the preamble shows the context
 * and each target (exists? empty?). Non-empty targets are refused unless allowed. Afterwards,
 * objects Velero could not update (immutable fields under --existing-resource-policy update) fail
 * the command instead of hiding behind Velero's "Completed".
 */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { durationOption } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { age, type ClusterOptions, confirm, count, openVelero } from "./common.js";
import { waitForRestore } from "./progress.js";
import {
  describeTarget,
  inspectTargets,
  isNamespaceName,
  refuseUnsafeTargets,
  SYSTEM_NAMESPACES,
  type TargetState,
} from "./targets.js";
import {
  type Backup,
  backupPhaseState,
  CREATED_BY,
  CREATED_BY_LABEL,
  checkObjectName,
  firstLine,
  isRestorable,
  type PhaseState,
  type Restore,
  restorePhaseState,
  SCHEDULE_LABEL,
  splitRef,
  splitType,
  timestampSuffix,
  VELERO_API,
  type Velero,
} from "./velero.js";

export interface BackupRestoreOptions extends ClusterOptions {
  /** The backup; or leave it out and name a schedule (`fromSchedule`). */
  name?: string | undefined;
  /** Restore the newest Completed backup of this schedule. */
  fromSchedule?: string | undefined;
  restoreName?: string | undefined;
  namespaces?: string[] | undefined;
  namespaceMapping?: string[] | undefined;
  existingResourcePolicy?: string | undefined;
  allowNonEmpty?: boolean | undefined;
  /** Every namespace of the backup but Velero's own, plus cluster-scoped objects; system namespaces keep what they hold. */
  wholeCluster?: boolean | undefined;
  labels?: Record<string, string> | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  wait?: boolean | undefined;
  timeout?: string | undefined;
}

export interface RestoreResult {
  name: string;
  backup: string;
  context: string;
  server: string;
  veleroNamespace: string;
  targetNamespaces: string[];
  targets: TargetState[];
  phase: string;
  state: PhaseState;
  dryRun: boolean;
  waited: boolean;
  itemsRestored?: number | undefined;
  totalItems?: number | undefined;
  errors?: number | undefined;
  warnings?: number | undefined;
  failureReason?: string | undefined;
  validationErrors?: string[] | undefined;
  seconds?: number | undefined;
  /** Objects that existed and were left as they are (policy none), with Velero's reason. */
  kept?: string[] | undefined;
  /** Objects Velero could not create or update, with its reason: they fail the command. */
  notRestored?: string[] | undefined;
  object?: Restore | undefined;
}

const POLICIES = ["none", "update"];

function usage(code: string, message: string, path: string, hint: string): InfraError {
  return new InfraError(code, message, { kind: "usage", location: { path }, hint });
}

/** "source:target" pairs; both must be namespace names. */
export function parseMapping(entries: string[] | undefined): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const parts = entry.trim().split(":");
    const [source, target] = parts;
    if (parts.length !== 2 || !source || !target) {
      throw usage(
        "INVALID_MAPPING",
        `"${entry}" is not "source:target"`,
        "--namespace-mapping",
        "write it as old:new with two namespace names, e.g. --namespace-mapping shop:shop-restored",
      );
    }
    for (const name of [source, target]) {
      if (!isNamespaceName(name)) {
        throw usage(
          "INVALID_NAMESPACE_NAME",
          `"${name}" in --namespace-mapping ${entry} is not a valid namespace name`,
          "--namespace-mapping",
          "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        );
      }
    }
    if (mapping[source] !== undefined && mapping[source] !== target) {
      throw usage(
        "INVALID_MAPPING",
        `namespace ${source} is mapped twice (${mapping[source]} and ${target})`,
        "--namespace-mapping",
        "map each namespace once",
      );
    }
    mapping[source] = target;
  }
  const targets = Object.values(mapping);
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  if (twice) {
    throw usage(
      "INVALID_MAPPING",
      `two namespaces are mapped into ${twice}`,
      "--namespace-mapping",
      "give each source namespace a target of its own",
    );
  }
  return mapping;
}

export function parsePolicy(value: string | undefined): "none" | "update" {
  const policy = value ?? "none";
  if (!POLICIES.includes(policy)) {
    throw usage(
      "INVALID_POLICY",
      `"${policy}" is not none or update`,
      "--existing-resource-policy",
      "none keeps objects that exist; update patches them to the backed-up state",
    );
  }
  return policy as "none" | "update";
}

/** The newest Completed backup of a schedule (a schedule that does not exist is a usage error). */
export async function latestOfSchedule(velero: Velero, schedule: string): Promise<Backup> {
  if (!(await velero.kube.find(velero.path("schedules", schedule)))) {
    const names = (await velero.schedules()).map((s) => s.metadata.name).join(", ");
    throw usage(
      "SCHEDULE_NOT_FOUND",
      `there is no schedule "${schedule}" in namespace ${velero.namespace}`,
      "--from-schedule",
      names ? `use one of: ${names}` : "there are no schedules; name a backup instead (`infra backup list`)",
    );
  }
  const newest = (await velero.backups())
    .filter((b) => b.metadata.labels?.[SCHEDULE_LABEL] === schedule)
    .filter((b) => backupPhaseState(b.status?.phase) === "completed")
    .sort((a, b) =>
      (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    )[0];
  if (!newest) {
    throw new InfraError("NO_COMPLETED_BACKUP", `schedule ${schedule} has no Completed backup`, {
      hint: "name a backup instead: `infra backup list` shows them with their phases",
    });
  }
  return newest;
}

export async function backupRestoreCommand(
  ctx: CommandContext,
  options: BackupRestoreOptions,
): Promise<Outcome<RestoreResult>> {
  // everything the operator typed is checked before the cluster is asked anything
  const mapping = parseMapping(options.namespaceMapping);
  const policy = parsePolicy(options.existingResourcePolicy);
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  if (!options.name === !options.fromSchedule) {
    throw usage(
      "BACKUP_REQUIRED",
      options.name ? "name a backup or --from-schedule, not both" : "name the backup to restore",
      "<name>",
      "infra backup restore NAME, or infra backup restore --from-schedule SCHEDULE (its newest Completed backup)",
    );
  }
  for (const ns of options.namespaces ?? []) {
    if (!isNamespaceName(ns)) {
      throw usage(
        "INVALID_NAMESPACE_NAME",
        `"${ns}" is not a valid namespace name`,
        "--namespace",
        "check the spelling",
      );
    }
  }
  if (options.wholeCluster && options.namespaces?.length) {
    throw usage(
      "CONFLICTING_OPTIONS",
      "--whole-cluster restores every namespace of the backup; it takes no --namespace",
      "--whole-cluster",
      "leave out --namespace, or --whole-cluster to restore only the namespaces you name",
    );
  }
  if (options.restoreName) checkObjectName(options.restoreName, "restore");

  const velero = await openVelero(ctx, options);
  const backup = options.name
    ? await velero.backup(options.name)
    : await latestOfSchedule(velero, options.fromSchedule as string);
  const backupName = backup.metadata.name as string;
  const restoreName = options.restoreName ?? restoreNameFor(backupName);
  if (!isRestorable(backup)) {
    throw new InfraError(
      "BACKUP_NOT_RESTORABLE",
      `backup ${backupName} is ${backup.status?.phase || "New"}; only Completed or PartiallyFailed backups can be restored`,
      { hint: "pick another backup from `infra backup list`" },
    );
  }
  await velero.usableLocation(backup.spec.storageLocation, false, backupName);
  const inBackup = await velero.backupNamespaces(backup, ctx.signal);
  const held = inBackup.join(", ") || "no namespaced objects";
  const notInBackup = (options.namespaces ?? []).filter((ns) => !inBackup.includes(ns));
  if (notInBackup.length > 0) {
    throw usage(
      "NAMESPACE_NOT_IN_BACKUP",
      `backup ${backupName} holds no objects in ${notInBackup.join(", ")}; nothing was created`,
      "--namespace",
      `it holds: ${held}`,
    );
  }
  const excluded = options.wholeCluster && inBackup.includes(velero.namespace) ? [velero.namespace] : [];
  const sources = options.namespaces?.length
    ? options.namespaces
    : inBackup.filter((ns) => !excluded.includes(ns));
  const unknownSources = Object.keys(mapping).filter((ns) => !sources.includes(ns));
  if (unknownSources.length > 0) {
    const inScope = unknownSources.filter((ns) => inBackup.includes(ns));
    throw usage(
      "MAPPING_SOURCE_NOT_IN_BACKUP",
      inScope.length === unknownSources.length
        ? `--namespace-mapping names ${unknownSources.join(", ")}, which this restore does not include (--namespace ${sources.join(" ")}); nothing was created`
        : `--namespace-mapping names ${unknownSources.join(", ")}, but backup ${backupName} holds no such namespace; nothing was created`,
      "--namespace-mapping",
      `the backup holds: ${held}`,
    );
  }
  const pairs = sources.map((source) => ({ source, target: mapping[source] ?? source }));
  const clash = pairs.find((p, i) => pairs.findIndex((q) => q.target === p.target) !== i);
  if (clash) {
    throw usage(
      "INVALID_MAPPING",
      `two namespaces of the backup would be restored into ${clash.target}; nothing was created`,
      "--namespace-mapping",
      `map ${clash.target} elsewhere too, or restore fewer namespaces with --namespace`,
    );
  }
  const targets = await inspectTargets(velero.kube, pairs);

  // the preamble: where this writes, before any question or change
  ctx.reporter.info(
    `Restore backup ${backupName} (${backup.status?.phase}, made ${age(backup.metadata.creationTimestamp)} ago) on context ${velero.kube.context} (${velero.kube.server}):`,
  );
  for (const t of targets) ctx.reporter.info(`  ${describeTarget(t)}`);
  if (excluded.length) ctx.reporter.info(`  ${excluded.join(", ")}: left out (Velero's own namespace)`);
  if (options.wholeCluster) {
    const kept = targets.filter((t) => t.sample.length > 0 && SYSTEM_NAMESPACES.includes(t.target));
    if (kept.length)
      ctx.reporter.info(
        `  objects that exist in ${kept.map((t) => t.target).join(", ")} are kept as this cluster made them`,
      );
  }
  refuseUnsafeTargets(targets, {
    allowNonEmpty: options.allowNonEmpty === true,
    keepSystem: options.wholeCluster === true,
    veleroNamespace: velero.namespace,
  });

  const restore: Restore = {
    apiVersion: VELERO_API,
    kind: "Restore",
    metadata: {
      name: restoreName,
      namespace: velero.namespace,
      labels: { ...options.labels, [CREATED_BY_LABEL]: CREATED_BY, "velero.io/backup-name": backupName },
    },
    spec: {
      backupName,
      ...(options.namespaces?.length ? { includedNamespaces: options.namespaces } : {}),
      ...(excluded.length ? { excludedNamespaces: excluded } : {}),
      ...(Object.keys(mapping).length ? { namespaceMapping: mapping } : {}),
      ...(options.wholeCluster ? { includeClusterResources: true } : {}),
      existingResourcePolicy: policy,
      restorePVs: true,
    },
  };
  const base = {
    name: restoreName,
    backup: backupName,
    context: velero.kube.context,
    server: velero.kube.server,
    veleroNamespace: velero.namespace,
    targetNamespaces: targets.map((t) => t.target),
    targets,
  };
  if (options.dryRun) {
    await velero.kube.create(velero.path("restores"), restore, true);
    return outcome(
      { ...base, phase: "", state: "pending" as PhaseState, dryRun: true, waited: false, object: restore },
      (r) =>
        `Dry run: would restore backup ${r.backup} into ${r.targetNamespaces.join(", ")} on context ${r.context} with this Restore (validated by the API server; nothing created):\n${JSON.stringify(r.object, null, 2)}`,
    );
  }
  await confirm(
    ctx,
    `Restore backup ${backupName} into ${targets.map((t) => t.target).join(", ")} on context ${velero.kube.context}?`,
    options.yes,
  );
  const started = Date.now();
  await velero.kube.create<Restore>(velero.path("restores"), restore);
  ctx.reporter.step(
    `restore ${restoreName}`,
    `created from backup ${backupName} into ${base.targetNamespaces.join(", ")}`,
  );
  if (!options.wait) {
    return outcome(
      { ...base, phase: "New", state: "pending" as PhaseState, dryRun: false, waited: false },
      (r) =>
        [
          `Restore ${r.name} of backup ${r.backup} created on context ${r.context}.`,
          `Follow it with: infra backup describe ${r.backup}`,
        ].join("\n"),
    );
  }
  ctx.reporter.phase(`Wait for restore ${restoreName}`);
  const final = await waitForRestore(ctx, velero, restoreName, timeoutMs);
  const result: RestoreResult = {
    ...base,
    ...restoreSummary(final),
    dryRun: false,
    waited: true,
    seconds: (Date.now() - started) / 1000,
  };
  // Velero reports objects it could not create or update as warnings of a "Completed" restore
  const existed = targets.some((t) => t.sample.length > 0);
  if ((result.warnings ?? 0) > 0 && (existed || policy === "update") && result.state !== "failed") {
    Object.assign(result, await itemOutcomes(velero, restoreName, ctx.signal));
    if (result.notRestored?.length && result.state === "completed") result.state = "partially-failed";
  }
  return outcome(result, renderRestore, result.state === "completed" ? undefined : 1);
}

/** What a finished restore did not write: objects kept as they were, and objects that failed. */
export async function itemOutcomes(
  velero: Velero,
  restore: string,
  signal?: AbortSignal,
): Promise<{ kept: string[]; notRestored: string[] }> {
  const [items, results] = await Promise.all([
    velero.restoredItems(restore, signal),
    velero.restoreResults(restore, signal),
  ]);
  const kept: string[] = [];
  const notRestored: string[] = [];
  for (const item of items.filter((i) => i.action === "failed")) {
    const [ns, name] = splitRef(item.ref);
    const messages = [
      ...(results.errors.namespaces[ns] ?? []),
      ...(results.warnings.namespaces[ns] ?? []),
      ...results.errors.cluster,
      ...results.warnings.cluster,
    ];
    const reason = messages.find(
      (m) => m.includes(`"${name}"`) || m.includes(`:${name} `) || m.includes(`/${name}`),
    );
    const label = `${splitType(item.type)[1]}/${name}${ns ? ` in ${ns}` : ""}`;
    if (reason && /already exists/.test(reason)) kept.push(label);
    else
      notRestored.push(
        `${label}: ${reason ? firstLine(reason) : "Velero marked it failed (see the restore log)"}`,
      );
  }
  return { kept, notRestored };
}

export function restoreNameFor(backup: string): string {
  const suffix = `-${timestampSuffix()}`;
  return `${backup.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

export function restoreSummary(restore: Restore) {
  const s = restore.status ?? {};
  return {
    phase: s.phase ?? "",
    state: restorePhaseState(s.phase),
    itemsRestored: s.progress?.itemsRestored,
    totalItems: s.progress?.totalItems,
    errors: s.errors,
    warnings: s.warnings,
    failureReason: s.failureReason,
    validationErrors: s.validationErrors,
  };
}

export function renderRestore(r: RestoreResult): string {
  const items = `${count(r.itemsRestored)}/${count(r.totalItems)} items`;
  const took = r.seconds === undefined ? "" : ` in ${r.seconds.toFixed(1)} s`;
  const where = `into ${r.targetNamespaces.join(", ")} on context ${r.context}`;
  const lines: string[] = [];
  switch (r.state) {
    case "completed":
      lines.push(
        `✓ Restore ${r.name} Completed: ${items} ${where}${took}, ${count(r.warnings ?? 0)} warnings.`,
      );
      break;
    case "partially-failed":
      lines.push(
        r.notRestored?.length && r.phase === "Completed"
          ? `✗ Restore ${r.name} did not write ${r.notRestored.length} object(s) ${where} (Velero says Completed, with ${count(r.warnings)} warnings):`
          : `✗ Restore ${r.name} PartiallyFailed ${where}: ${items}, ${count(r.errors)} errors, ${count(r.warnings)} warnings.`,
      );
      break;
    default:
      lines.push(`✗ Restore ${r.name} ${r.phase} ${where}${r.failureReason ? `: ${r.failureReason}` : ""}`);
      lines.push(...(r.validationErrors ?? []).map((e) => `  validation: ${e}`));
  }
  for (const n of (r.notRestored ?? []).slice(0, 20)) lines.push(`  not restored  ${n}`);
  if ((r.notRestored?.length ?? 0) > 20) lines.push(`  ... and ${(r.notRestored?.length ?? 0) - 20} more`);
  if (r.kept?.length)
    lines.push(
      `  kept ${r.kept.length} object(s) that already existed and differ from the backup (policy none): ${r.kept.slice(0, 5).join(", ")}${r.kept.length > 5 ? ", ..." : ""}`,
    );
  if (r.state !== "completed") lines.push(`  See why: infra backup logs ${r.name} --restore`);
  return lines.join("\n");
}
