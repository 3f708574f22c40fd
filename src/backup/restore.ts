/**
 * `infra backup restore NAME`: a velero.io/v1 Restore. Refuses to restore into a namespace that
 * already holds objects unless told to (`--allow-non-empty`), because Velero skips objects that
 * exist and the result would silently mix old and new state.
 */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type KubeObject, resourcePath } from "../kube/client.js";
import { namespaceInventory } from "../kube/inventory.js";
import { durationOption } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type ClusterOptions, confirm, count, openVelero } from "./common.js";
import { waitForRestore } from "./progress.js";
import {
  CREATED_BY,
  CREATED_BY_LABEL,
  checkObjectName,
  isRestorable,
  type PhaseState,
  type Restore,
  restorePhaseState,
  timestampSuffix,
  VELERO_API,
  type Velero,
} from "./velero.js";

export interface BackupRestoreOptions extends ClusterOptions {
  name: string;
  restoreName?: string | undefined;
  namespaces?: string[] | undefined;
  namespaceMapping?: string[] | undefined;
  existingResourcePolicy?: string | undefined;
  allowNonEmpty?: boolean | undefined;
  labels?: Record<string, string> | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  wait?: boolean | undefined;
  timeout?: string | undefined;
}

export interface RestoreResult {
  name: string;
  backup: string;
  veleroNamespace: string;
  targetNamespaces: string[];
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
  object?: Restore | undefined;
}

export function parseMapping(entries: string[] | undefined): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const match = /^([a-z0-9][-a-z0-9]*):([a-z0-9][-a-z0-9]*)$/.exec(entry.trim());
    if (!match) {
      throw new InfraError("INVALID_MAPPING", `"${entry}" is not "source:target"`, {
        kind: "usage",
        location: { path: "--namespace-mapping" },
        hint: "write it as old:new with two namespace names, e.g. --namespace-mapping shop:shop-restored",
      });
    }
    mapping[match[1] as string] = match[2] as string;
  }
  return mapping;
}

export async function backupRestoreCommand(
  ctx: CommandContext,
  options: BackupRestoreOptions,
): Promise<Outcome<RestoreResult>> {
  const mapping = parseMapping(options.namespaceMapping);
  const policy = options.existingResourcePolicy ?? "none";
  if (policy !== "none" && policy !== "update") {
    throw new InfraError("INVALID_POLICY", `"${policy}" is not none or update`, {
      kind: "usage",
      location: { path: "--existing-resource-policy" },
      hint: "none keeps objects that exist; update patches them to the backed-up state",
    });
  }
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const restoreName = options.restoreName ?? restoreNameFor(options.name);
  checkObjectName(restoreName, "restore");

  const velero = await openVelero(ctx, options);
  const backup = await velero.backup(options.name);
  if (!isRestorable(backup)) {
    throw new InfraError(
      "BACKUP_NOT_RESTORABLE",
      `backup ${options.name} is ${backup.status?.phase || "New"}; only Completed or PartiallyFailed backups can be restored`,
      { hint: "pick another backup from `infra backup list`" },
    );
  }
  await velero.usableLocation(backup.spec.storageLocation, false);
  const inBackup = await velero.backupNamespaces(backup, ctx.signal);
  const sources = options.namespaces?.length ? options.namespaces : inBackup;
  const missing = sources.filter((ns) => !inBackup.includes(ns));
  if (missing.length > 0) {
    throw new InfraError(
      "NAMESPACE_NOT_IN_BACKUP",
      `backup ${options.name} holds no objects in ${missing.join(", ")}`,
      {
        location: { path: "--namespace" },
        hint: `it holds: ${inBackup.join(", ") || "no namespaced objects"}`,
      },
    );
  }
  const targets = sources.map((ns) => mapping[ns] ?? ns);
  await checkTargets(velero, targets, options.allowNonEmpty === true);

  const restore: Restore = {
    apiVersion: VELERO_API,
    kind: "Restore",
    metadata: {
      name: restoreName,
      namespace: velero.namespace,
      labels: { ...options.labels, [CREATED_BY_LABEL]: CREATED_BY, "velero.io/backup-name": options.name },
    },
    spec: {
      backupName: options.name,
      ...(options.namespaces?.length ? { includedNamespaces: options.namespaces } : {}),
      ...(Object.keys(mapping).length ? { namespaceMapping: mapping } : {}),
      existingResourcePolicy: policy,
      restorePVs: true,
    },
  };
  const base = {
    name: restoreName,
    backup: options.name,
    veleroNamespace: velero.namespace,
    targetNamespaces: targets,
  };
  if (options.dryRun) {
    await velero.kube.create(velero.path("restores"), restore, true);
    return outcome(
      { ...base, phase: "", state: "pending" as PhaseState, dryRun: true, waited: false, object: restore },
      (r) =>
        `Dry run: would restore backup ${r.backup} into ${r.targetNamespaces.join(", ")} with this Restore (validated by the API server; nothing created):\n${JSON.stringify(r.object, null, 2)}`,
    );
  }
  await confirm(ctx, `Restore backup ${options.name} into namespace(s) ${targets.join(", ")}?`, options.yes);
  const started = Date.now();
  await velero.kube.create<Restore>(velero.path("restores"), restore);
  ctx.reporter.step(
    `restore ${restoreName}`,
    `created from backup ${options.name} into ${targets.join(", ")}`,
  );
  if (!options.wait) {
    return outcome(
      { ...base, phase: "New", state: "pending" as PhaseState, dryRun: false, waited: false },
      (r) => [`Restore ${r.name} created.`, `Follow it with: infra backup describe ${r.backup}`].join("\n"),
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
  return outcome(result, renderRestore, result.state === "completed" ? undefined : 1);
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

/** Every target namespace is absent or empty (unless allowed), and none is being deleted. */
export async function checkTargets(velero: Velero, targets: string[], allowNonEmpty: boolean): Promise<void> {
  for (const ns of targets) {
    const existing = await velero.kube.find<KubeObject & { status?: { phase?: string } }>(
      resourcePath("v1", "namespaces", undefined, ns),
    );
    if (!existing) continue;
    if (existing.status?.phase === "Terminating") {
      throw new InfraError("NAMESPACE_TERMINATING", `namespace ${ns} is being deleted`, {
        hint: `wait until it is gone (\`kubectl get namespace ${ns}\`) and retry, or restore elsewhere with --namespace-mapping`,
      });
    }
    if (allowNonEmpty) continue;
    const found = await namespaceInventory(velero.kube, ns, undefined, { firstOnly: true });
    if (found.length > 0) {
      const sample = found
        .slice(0, 3)
        .map((i) => `${i.kind}/${i.name}`)
        .join(", ");
      throw new InfraError(
        "RESTORE_TARGET_NOT_EMPTY",
        `namespace ${ns} already holds objects (${sample}${found.length > 3 ? ", ..." : ""})`,
        {
          hint: `restore next to it with --namespace-mapping ${ns}:${ns}-restored, or pass --allow-non-empty (existing objects are kept unless --existing-resource-policy update)`,
        },
      );
    }
  }
}

export function renderRestore(r: RestoreResult): string {
  const items = `${count(r.itemsRestored)}/${count(r.totalItems)} items`;
  const took = r.seconds === undefined ? "" : ` in ${r.seconds.toFixed(1)} s`;
  switch (r.state) {
    case "completed":
      return `✓ Restore ${r.name} Completed: ${items} into ${r.targetNamespaces.join(", ")}${took}, ${count(r.warnings ?? 0)} warnings.`;
    case "partially-failed":
      return [
        `✗ Restore ${r.name} PartiallyFailed: ${items}, ${count(r.errors)} errors, ${count(r.warnings)} warnings.`,
        `  See why: infra backup logs ${r.name} --restore`,
      ].join("\n");
    default:
      return [
        `✗ Restore ${r.name} ${r.phase}${r.failureReason ? `: ${r.failureReason}` : ""}`,
        ...(r.validationErrors ?? []).map((e) => `  validation: ${e}`),
        `  See why: infra backup logs ${r.name} --restore`,
      ].join("\n");
  }
}
