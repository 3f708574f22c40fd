/** `infra backup create`: a velero.io/v1 Backup, labelled as ours, optionally waited for. */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { isConflict, resourcePath } from "../kube/client.js";
import { parseSelector } from "../kube/selector.js";
import { durationOption, goDuration } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type ClusterOptions, count, openVelero } from "./common.js";
import { waitForBackup } from "./progress.js";
import {
  type Backup,
  backupPhaseState,
  CREATED_BY,
  CREATED_BY_LABEL,
  checkObjectName,
  type PhaseState,
  timestampSuffix,
  VELERO_API,
  type Velero,
} from "./velero.js";

export interface BackupCreateOptions extends ClusterOptions {
  name?: string | undefined;
  namespaces?: string[] | undefined;
  selector?: string | undefined;
  ttl?: string | undefined;
  includeVolumes?: boolean | undefined;
  storageLocation?: string | undefined;
  /** Extra labels on the Backup object (the CLI always adds its own). */
  labels?: Record<string, string> | undefined;
  dryRun?: boolean | undefined;
  wait?: boolean | undefined;
  timeout?: string | undefined;
}

export interface BackupResult {
  name: string;
  veleroNamespace: string;
  phase: string;
  state: PhaseState;
  dryRun: boolean;
  waited: boolean;
  includedNamespaces: string[];
  itemsBackedUp?: number | undefined;
  totalItems?: number | undefined;
  errors?: number | undefined;
  warnings?: number | undefined;
  failureReason?: string | undefined;
  validationErrors?: string[] | undefined;
  seconds?: number | undefined;
  object?: Backup | undefined;
}

export async function backupCreateCommand(
  ctx: CommandContext,
  options: BackupCreateOptions,
): Promise<Outcome<BackupResult>> {
  const name = options.name ?? `infra-${timestampSuffix()}`;
  checkObjectName(name, "backup");
  const ttlMs = durationOption("--ttl", options.ttl ?? "720h0m0s");
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const selector = options.selector ? parseSelector(options.selector) : undefined;
  const namespaces = options.namespaces?.length ? options.namespaces : ["*"];

  const velero = await openVelero(ctx, options);
  const location = await velero.usableLocation(options.storageLocation, true);
  await requireNamespaces(velero, namespaces);
  if (await velero.kube.find(velero.path("backups", name))) {
    throw new InfraError("BACKUP_EXISTS", `a backup named "${name}" already exists`, {
      hint: "choose another name, or leave the name out to get a generated one",
    });
  }

  const backup: Backup = {
    apiVersion: VELERO_API,
    kind: "Backup",
    metadata: {
      name,
      namespace: velero.namespace,
      labels: { ...options.labels, [CREATED_BY_LABEL]: CREATED_BY },
    },
    spec: {
      includedNamespaces: namespaces,
      ...(selector ? { labelSelector: selector } : {}),
      ttl: goDuration(ttlMs),
      storageLocation: location.metadata.name as string,
      snapshotVolumes: false,
      defaultVolumesToFsBackup: options.includeVolumes === true,
    },
  };

  const started = Date.now();
  const dryRun = options.dryRun === true;
  // a server-side dry run: the API server validates the object against Velero's CRD schema
  let created: Backup;
  try {
    created = await velero.kube.create<Backup>(velero.path("backups"), backup, dryRun);
  } catch (error) {
    if (isConflict(error)) {
      throw new InfraError("BACKUP_EXISTS", `a backup named "${name}" already exists`, {
        hint: "choose another name, or leave the name out to get a generated one",
      });
    }
    throw error;
  }
  if (dryRun) {
    return outcome(
      { ...summary(velero, backup, false), dryRun: true, object: backup },
      (r) =>
        `Dry run: would create this Backup (validated by the API server; nothing created):\n${JSON.stringify(r.object, null, 2)}`,
    );
  }
  ctx.reporter.step(`backup ${name}`, `created in ${velero.namespace} (location ${location.metadata.name})`);
  if (!options.wait) {
    return outcome(summary(velero, created, false), (r) =>
      [
        `Backup ${r.name} created (phase ${r.phase || "New"}).`,
        `Follow it with: infra backup describe ${r.name}`,
      ].join("\n"),
    );
  }
  ctx.reporter.phase(`Wait for backup ${name}`);
  const final = await waitForBackup(ctx, velero, name, timeoutMs);
  const result = { ...summary(velero, final, true), seconds: (Date.now() - started) / 1000 };
  const ok = result.state === "completed";
  return outcome(result, renderFinished, ok ? undefined : 1);
}

async function requireNamespaces(velero: Velero, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    if (ns === "*" || ns.includes("*")) continue;
    if (!(await velero.kube.find(resourcePath("v1", "namespaces", undefined, ns)))) {
      throw new InfraError(
        "NAMESPACE_NOT_FOUND",
        `namespace "${ns}" does not exist, so there is nothing to back up`,
        {
          location: { path: "--namespace" },
          hint: "check the name with `kubectl get namespaces`; leave --namespace out to back up every namespace",
        },
      );
    }
  }
}

export function summary(velero: Velero, backup: Backup, waited: boolean): BackupResult {
  const status = backup.status ?? {};
  return {
    name: backup.metadata.name as string,
    veleroNamespace: velero.namespace,
    phase: status.phase ?? "",
    state: backupPhaseState(status.phase),
    dryRun: false,
    waited,
    includedNamespaces: backup.spec.includedNamespaces ?? ["*"],
    itemsBackedUp: status.progress?.itemsBackedUp,
    totalItems: status.progress?.totalItems,
    errors: status.errors,
    warnings: status.warnings,
    failureReason: status.failureReason,
    validationErrors: status.validationErrors,
  };
}

function renderFinished(r: BackupResult): string {
  const items = `${count(r.itemsBackedUp)}/${count(r.totalItems)} items`;
  const took = r.seconds === undefined ? "" : ` in ${r.seconds.toFixed(1)} s`;
  const lines: string[] = [];
  switch (r.state) {
    case "completed":
      lines.push(`✓ Backup ${r.name} Completed: ${items}${took}, ${count(r.warnings ?? 0)} warnings.`);
      break;
    case "partially-failed":
      lines.push(
        `✗ Backup ${r.name} PartiallyFailed: ${items}, ${count(r.errors)} errors, ${count(r.warnings)} warnings.`,
      );
      lines.push(`  What was saved is restorable. See why: infra backup logs ${r.name}`);
      break;
    default:
      lines.push(`✗ Backup ${r.name} ${r.phase}${r.failureReason ? `: ${r.failureReason}` : ""}`);
      for (const e of r.validationErrors ?? []) lines.push(`  validation: ${e}`);
      lines.push(`  See why: infra backup describe ${r.name} (and infra backup logs ${r.name})`);
  }
  return lines.join("\n");
}
