/** `infra backup describe NAME`: phase, progress, validation errors, warnings and its restores. */
import type { CommandContext } from "../context.js";
import { formatSelector } from "../kube/selector.js";
import { type Outcome, outcome } from "../outcome.js";
import { age, type ClusterOptions, count, openVelero, until } from "./common.js";
import { type Completeness, checkCompleteness, DISCOVERY_HINT, describeMissing } from "./completeness.js";
import { backupPhaseState, isRestorable, type PhaseState, restorePhaseState } from "./velero.js";

export interface BackupDescribeOptions extends ClusterOptions {
  name: string;
}

export interface BackupDescription {
  name: string;
  phase: string;
  state: PhaseState;
  labels: Record<string, string>;
  includedNamespaces: string[];
  excludedNamespaces: string[];
  selector: string;
  ttl?: string | undefined;
  storageLocation?: string | undefined;
  volumes: "file-system backup" | "not backed up";
  created?: string | undefined;
  started?: string | undefined;
  completed?: string | undefined;
  expires?: string | undefined;
  queuePosition?: number | undefined;
  itemsBackedUp?: number | undefined;
  totalItems?: number | undefined;
  errors: number;
  warnings: number;
  failureReason?: string | undefined;
  validationErrors: string[];
  restores: { name: string; phase: string; state: PhaseState; errors: number; warnings: number }[];
  /** For a finished backup: does it hold every type with live objects in its scope? */
  completeness?: Completeness | undefined;
}

export async function backupDescribeCommand(
  ctx: CommandContext,
  options: BackupDescribeOptions,
): Promise<Outcome<BackupDescription>> {
  const velero = await openVelero(ctx, options);
  const backup = await velero.backup(options.name);
  const [restores, completeness] = await Promise.all([
    velero.restores().then((all) => all.filter((r) => r.spec.backupName === options.name)),
    isRestorable(backup) ? checkCompleteness(velero, backup, ctx.signal) : undefined,
  ]);
  const s = backup.status ?? {};
  const data: BackupDescription = {
    name: options.name,
    phase: s.phase ?? "",
    state: backupPhaseState(s.phase),
    labels: backup.metadata.labels ?? {},
    includedNamespaces: backup.spec.includedNamespaces ?? ["*"],
    excludedNamespaces: backup.spec.excludedNamespaces ?? [],
    selector: formatSelector(backup.spec.labelSelector),
    ttl: backup.spec.ttl,
    storageLocation: backup.spec.storageLocation,
    volumes: backup.spec.defaultVolumesToFsBackup ? "file-system backup" : "not backed up",
    created: backup.metadata.creationTimestamp,
    started: s.startTimestamp,
    completed: s.completionTimestamp,
    expires: s.expiration,
    queuePosition: s.queuePosition,
    itemsBackedUp: s.progress?.itemsBackedUp,
    totalItems: s.progress?.totalItems,
    errors: s.errors ?? 0,
    warnings: s.warnings ?? 0,
    failureReason: s.failureReason,
    validationErrors: s.validationErrors ?? [],
    restores: restores.map((r) => ({
      name: r.metadata.name as string,
      phase: r.status?.phase ?? "",
      state: restorePhaseState(r.status?.phase),
      errors: r.status?.errors ?? 0,
      warnings: r.status?.warnings ?? 0,
    })),
    completeness,
  };
  return outcome(data, render, completeness?.complete === false ? 1 : undefined);
}

function render(d: BackupDescription): string {
  const took =
    d.started && d.completed
      ? ` (took ${((Date.parse(d.completed) - Date.parse(d.started)) / 1000).toFixed(0)} s)`
      : "";
  const lines = [
    `Name:         ${d.name}`,
    `Phase:        ${d.phase || "New"}${d.state === "unknown" ? " (a phase this CLI does not know yet)" : ""}${
      d.queuePosition ? ` (queue position ${d.queuePosition})` : ""
    }`,
    `Namespaces:   ${d.includedNamespaces.join(", ")}${d.excludedNamespaces.length ? ` (excluding ${d.excludedNamespaces.join(", ")})` : ""}`,
    `Selector:     ${d.selector || "<none>"}`,
    `Volumes:      ${d.volumes}`,
    `Location:     ${d.storageLocation ?? "<default>"}`,
    `TTL:          ${d.ttl ?? "<server default>"}`,
    `Created:      ${d.created ?? "-"} (${age(d.created)} ago)`,
    `Completed:    ${d.completed ?? "-"}${took}`,
    `Expires:      ${d.expires ?? "-"} (in ${until(d.expires)})`,
    `Progress:     ${count(d.itemsBackedUp)}/${count(d.totalItems)} items backed up`,
    `Errors:       ${d.errors}`,
    `Warnings:     ${d.warnings}`,
  ];
  if (d.failureReason) lines.push(`Failure:      ${d.failureReason}`);
  for (const e of d.validationErrors) lines.push(`Validation:   ${e}`);
  if (Object.keys(d.labels).length)
    lines.push(
      `Labels:       ${Object.entries(d.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}`,
    );
  lines.push(
    d.restores.length
      ? `Restores:     ${d.restores.map((r) => `${r.name} (${r.phase || "New"}, ${r.errors} errors, ${r.warnings} warnings)`).join("; ")}`
      : "Restores:     none",
  );
  if (d.errors || d.warnings || d.state === "failed") lines.push(`Log:          infra backup logs ${d.name}`);
  if (d.completeness) {
    const c = d.completeness;
    lines.push(
      c.complete
        ? `Complete:     yes (${c.checkedTypes} types checked against the live objects in its namespaces)`
        : `Complete:     NO — it lacks ${c.missing.length} type(s) with live objects in its namespaces`,
    );
    lines.push(...describeMissing(c));
    if (!c.complete) lines.push(`  ${DISCOVERY_HINT}.`);
  }
  return lines.join("\n");
}
