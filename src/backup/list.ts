/** `infra backup list`: backups, schedules (with their last backup) and storage locations. */
import type { CommandContext } from "../context.js";
import { durationOption } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { age, type ClusterOptions, count, openVelero, table, until } from "./common.js";
import { type Completeness, checkCompleteness, DISCOVERY_HINT, describeMissing } from "./completeness.js";
import {
  assessBackups,
  DEFAULT_MAX_BACKUP_DURATION,
  type Finding,
  renderFindings,
  type ScheduleHealth,
  scheduleLine,
} from "./health.js";
import { backupPhaseState, type PhaseState } from "./velero.js";

export interface BackupListOptions extends ClusterOptions {
  /** A backup running longer is flagged, and a schedule may be this late (Go duration). */
  maxBackupDuration?: string | undefined;
}

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

export interface ScheduleRow extends ScheduleHealth {
  phase: string;
  lastBackupTime?: string | undefined;
  lastBackup?: { name: string; phase: string } | undefined;
  /** Does its last successful backup hold every type with live objects in its scope? */
  completeness?: Completeness | undefined;
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
  /** What threatens the RPO (see `infra status`). */
  findings: Finding[];
}

export async function backupListCommand(
  ctx: CommandContext,
  options: BackupListOptions,
): Promise<Outcome<BackupListResult>> {
  const maxBackupMs = durationOption(
    "--max-backup-duration",
    options.maxBackupDuration ?? DEFAULT_MAX_BACKUP_DURATION,
  );
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
  const health = assessBackups({ backups, schedules, locations, maxBackupDurationMs: maxBackupMs });
  const scheduleRows: ScheduleRow[] = await Promise.all(
    health.schedules.map(async (h) => {
      const s = schedules.find((x) => x.metadata.name === h.name);
      const latest = rows.find((r) => r.schedule === h.name);
      const success = backups.find((b) => b.metadata.name === h.lastSuccess?.name);
      return {
        ...h,
        phase: s?.status?.phase ?? "",
        lastBackupTime: s?.status?.lastBackup,
        lastBackup: latest ? { name: latest.name, phase: latest.phase } : undefined,
        completeness: success ? await checkCompleteness(velero, success, ctx.signal) : undefined,
      };
    }),
  );
  for (const s of scheduleRows) {
    if (s.completeness && !s.completeness.complete) {
      health.findings.push({
        severity: "error",
        subject: `schedule ${s.name}`,
        message: `its last successful backup ${s.lastSuccess?.name} lacks ${s.completeness.missing.map((m) => `${m.type} (e.g. ${m.example})`).join(", ")}`,
        hint: DISCOVERY_HINT,
      });
    }
  }
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
    {
      veleroNamespace: velero.namespace,
      backups: rows,
      schedules: scheduleRows,
      locations: locationRows,
      findings: health.findings,
    },
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
  for (const s of r.schedules) {
    out.push(scheduleLine(s));
    if (s.completeness) out.push(...describeMissing(s.completeness));
  }
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
  if (r.findings.length) out.push("", "Backup problems (RPO at risk):", ...renderFindings(r.findings));
  return out.join("\n");
}
