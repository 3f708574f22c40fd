/** `infra backup create`: a velero.io/v1 Backup, labelled as ours, optionally waited for. */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { isConflict, resourcePath } from "../kube/client.js";
import { parseSelector } from "../kube/selector.js";
import { durationOption, goDuration } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type ClusterOptions, count, openVelero } from "./common.js";
import {
  type Completeness,
  checkCompleteness,
  DISCOVERY_HINT,
  describeMissing,
  scanLive,
  scopeOf,
} from "./completeness.js";
import { waitForBackup } from "./progress.js";
import {
  type Backup,
  backupPhaseState,
  CREATED_BY,
  CREATED_BY_LABEL,
  checkObjectName,
  type PhaseState,
  SCHEDULE_LABEL,
  type Schedule,
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
  /** Take the spec (namespaces, selector, TTL, volumes, location) from this schedule's template. */
  fromSchedule?: string | undefined;
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
  /** After Velero's Completed: does the backup hold every type with live objects in its scope? */
  completeness?: Completeness | undefined;
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

  if (options.fromSchedule && (options.namespaces?.length || options.selector || options.includeVolumes)) {
    throw new InfraError(
      "CONFLICTING_OPTIONS",
      "--from-schedule takes namespaces, selector and volumes from the schedule",
      {
        kind: "usage",
        location: { path: "--from-schedule" },
        hint: "leave out --namespace, --selector and --include-volumes, or leave out --from-schedule",
      },
    );
  }
  const velero = await openVelero(ctx, options);
  const template = options.fromSchedule ? await scheduleTemplate(velero, options.fromSchedule) : undefined;
  // independent reads at once (a name that exists is refused by the API server's create below)
  const [location] = await Promise.all([
    velero.usableLocation(options.storageLocation ?? template?.storageLocation, true),
    template ? undefined : requireNamespaces(velero, namespaces),
  ]);

  const backup: Backup = {
    apiVersion: VELERO_API,
    kind: "Backup",
    metadata: {
      name,
      namespace: velero.namespace,
      labels: {
        ...options.labels,
        ...(options.fromSchedule ? { [SCHEDULE_LABEL]: options.fromSchedule } : {}),
        [CREATED_BY_LABEL]: CREATED_BY,
      },
    },
    spec: template
      ? { ...template, storageLocation: location.metadata.name as string }
      : {
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
  // what should be in it: objects that exist now, read while Velero works
  const live = scanLive(velero.kube, scopeOf(created, Date.parse(created.metadata.creationTimestamp ?? "")));
  // and the URL of its resource list, signed now so that only the fetch is left once it is done
  const resourceList = velero.presign("BackupResourceList", name, 60_000, ctx.signal).catch(() => undefined);
  live.catch(() => undefined); // awaited below; an interrupted wait must not leave it unhandled
  const final = await waitForBackup(ctx, velero, name, timeoutMs);
  const result: BackupResult = { ...summary(velero, final, true), seconds: (Date.now() - started) / 1000 };
  if (result.state === "completed" || result.state === "partially-failed") {
    result.completeness = await checkCompleteness(velero, final, ctx.signal, { scan: live, resourceList });
  }
  const ok = result.state === "completed" && result.completeness?.complete !== false;
  return outcome(result, renderFinished, ok ? undefined : 1);
}

/** A schedule's backup template: the spec `--from-schedule` copies (like `velero backup create --from-schedule`). */
async function scheduleTemplate(velero: Velero, name: string): Promise<Backup["spec"]> {
  const schedule = await velero.kube.find<Schedule>(velero.path("schedules", name));
  if (!schedule) {
    const names = (await velero.schedules()).map((s) => s.metadata.name).join(", ");
    throw new InfraError(
      "SCHEDULE_NOT_FOUND",
      `there is no schedule "${name}" in namespace ${velero.namespace}`,
      {
        kind: "usage",
        location: { path: "--from-schedule" },
        hint: names
          ? `use one of: ${names}`
          : "there are no schedules; `infra backup list` shows them once the velero application defines some",
      },
    );
  }
  return schedule.spec.template ?? {};
}

async function requireNamespaces(velero: Velero, namespaces: string[]): Promise<void> {
  const named = namespaces.filter((ns) => !ns.includes("*"));
  const found = await Promise.all(
    named.map((ns) => velero.kube.find(resourcePath("v1", "namespaces", undefined, ns))),
  );
  for (const [i, ns] of named.entries()) {
    if (!found[i]) {
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
  const incomplete = r.completeness && !r.completeness.complete;
  switch (r.state) {
    case "completed":
      if (incomplete) {
        lines.push(
          `✗ Backup ${r.name} Completed, but it lacks ${r.completeness?.missing.length} type(s) with live objects in its namespaces: ${items}${took}.`,
        );
      } else lines.push(`✓ Backup ${r.name} Completed: ${items}${took}, ${count(r.warnings ?? 0)} warnings.`);
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
  if (r.completeness) {
    lines.push(...describeMissing(r.completeness));
    if (incomplete) lines.push(`  ${DISCOVERY_HINT}.`);
  }
  return lines.join("\n");
}
