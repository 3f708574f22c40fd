/** `infra backup list`: backups, schedules (with their last backup) and storage locations. */
import type { CommandContext } from "../context.js";
import { type Outcome, outcome } from "../outcome.js";
import { age, type ClusterOptions, count, openVelero, table, until } from "./common.js";
import { backupPhaseState, type PhaseState } from "./velero.js";

export interface BackupRow {
  name: string;
  phase: string;
  state: PhaseState;
  created?: string | undefined;
  expires?: string | undefined;
  itemsBackedUp?: number | undefined;
  totalItems?: number | undefined;
  errors: number;
  warnings: number;
  location?: string | undefined;
  schedule?: string | undefined;
}

export interface ScheduleRow {
  name: string;
  schedule: string;
  phase: string;
  paused: boolean;
  lastBackupTime?: string | undefined;
  lastBackup?: { name: string; phase: string } | undefined;
}

export interface LocationRow {
  name: string;
  phase: string;
  default: boolean;
  accessMode: string;
  bucket: string;
  prefix: string;
  message?: string | undefined;
}

export interface BackupListResult {
  veleroNamespace: string;
  backups: BackupRow[];
  schedules: ScheduleRow[];
  locations: LocationRow[];
}

export async function backupListCommand(
  ctx: CommandContext,
  options: ClusterOptions,
): Promise<Outcome<BackupListResult>> {
  const velero = await openVelero(ctx, options);
  const [backups, schedules, locations] = await Promise.all([
    velero.backups(),
    velero.schedules(),
    velero.locations(),
  ]);
  const rows: BackupRow[] = backups
    .map((b) => ({
      name: b.metadata.name as string,
      phase: b.status?.phase ?? "",
      state: backupPhaseState(b.status?.phase),
      created: b.metadata.creationTimestamp,
      expires: b.status?.expiration,
      itemsBackedUp: b.status?.progress?.itemsBackedUp,
      totalItems: b.status?.progress?.totalItems,
      errors: b.status?.errors ?? 0,
      warnings: b.status?.warnings ?? 0,
      location: b.spec.storageLocation,
      schedule: b.metadata.labels?.["velero.io/schedule-name"],
    }))
    .sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
  const scheduleRows: ScheduleRow[] = schedules
    .map((s) => {
      const latest = rows.find((r) => r.schedule === s.metadata.name);
      return {
        name: s.metadata.name as string,
        schedule: s.spec.schedule,
        phase: s.status?.phase ?? "",
        paused: s.spec.paused === true,
        lastBackupTime: s.status?.lastBackup,
        lastBackup: latest ? { name: latest.name, phase: latest.phase } : undefined,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const locationRows: LocationRow[] = locations.map((l) => ({
    name: l.metadata.name as string,
    phase: l.status?.phase ?? "",
    default: l.spec.default === true,
    accessMode: l.spec.accessMode ?? "ReadWrite",
    bucket: l.spec.objectStorage.bucket,
    prefix: l.spec.objectStorage.prefix ?? "",
    message: l.status?.message,
  }));
  return outcome(
    { veleroNamespace: velero.namespace, backups: rows, schedules: scheduleRows, locations: locationRows },
    render,
  );
}

function render(r: BackupListResult): string {
  const out: string[] = [];
  if (r.backups.length === 0)
    out.push(`No backups in namespace ${r.veleroNamespace}. Create one: infra backup create --wait`);
  else
    out.push(
      table(
        ["NAME", "PHASE", "AGE", "EXPIRES", "ITEMS", "ERRORS", "WARNINGS", "SCHEDULE"],
        r.backups.map((b) => [
          b.name,
          b.phase || "New",
          age(b.created),
          until(b.expires),
          b.totalItems === undefined ? "-" : `${count(b.itemsBackedUp)}/${b.totalItems}`,
          String(b.errors),
          String(b.warnings),
          b.schedule ?? "-",
        ]),
      ),
    );
  out.push("");
  if (r.schedules.length === 0) out.push("No schedules.");
  else
    out.push(
      table(
        ["SCHEDULE", "CRON", "PHASE", "PAUSED", "LAST BACKUP", "LAST PHASE"],
        r.schedules.map((s) => [
          s.name,
          s.schedule,
          s.phase || "New",
          s.paused ? "yes" : "no",
          s.lastBackup?.name ?? (s.lastBackupTime ? `${age(s.lastBackupTime)} ago` : "never"),
          s.lastBackup?.phase ?? "-",
        ]),
      ),
    );
  out.push("");
  out.push(
    table(
      ["LOCATION", "PHASE", "DEFAULT", "ACCESS", "BUCKET/PREFIX"],
      r.locations.map((l) => [
        l.name,
        l.phase || "(not validated)",
        l.default ? "yes" : "no",
        l.accessMode,
        `${l.bucket}${l.prefix ? `/${l.prefix}` : ""}`,
      ]),
    ),
  );
  return out.join("\n");
}
