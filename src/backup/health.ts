/**
 * Is the RPO holding? From the Backups, Schedules and BackupStorageLocations as the API returns
 * them, with no further requests: per schedule the age of its last successful backup against its
 * period, backups running or waiting longer than a bound, and locations Velero has stopped
 * validating (a stopped Velero server leaves them "Available" for ever). Used by `infra status`
 * and `infra backup list`.
 */
import { createRequire } from "node:module";
import type * as CronParser from "cron-parser";
import { formatDuration as ageText, parseDuration } from "../kube/wait.js";
import { checkCronSpec } from "../lib/cron.js";
import {
  type Backup,
  type BackupStorageLocation,
  backupPhaseState,
  SCHEDULE_LABEL,
  type Schedule,
} from "./velero.js";

/**
 * cron-parser (with luxon, about 370 KB of code) is loaded when a schedule's fire times are first
 * needed, after the API has answered, not when the command starts: the cost before a command's first
 * request is what an operator waits for. It is a CommonJS package, so a synchronous require suffices.
 */
let cronParser: typeof CronParser.CronExpressionParser | undefined;
function cron(): typeof CronParser.CronExpressionParser {
  cronParser ??= (createRequire(import.meta.url)("cron-parser") as typeof CronParser).CronExpressionParser;
  return cronParser;
}

/** How long a backup may take before it is flagged, and the slack a schedule gets (default). */
export const DEFAULT_MAX_BACKUP_DURATION = "1h";
/** Velero validates each location every minute unless the location or server says otherwise. */
const DEFAULT_VALIDATION_FREQUENCY_MS = 60_000;
/** A location is stale when its last validation is older than this many validation periods. */
const STALE_VALIDATIONS = 3;
/** Velero's schedule controller looks at schedules once a minute: a backup may start that late. */
const SCHEDULE_SLACK_MS = 60_000;

export interface Finding {
  severity: "error" | "warning";
  /** What it is about: "schedule daily", "backup nightly-1", "location default". */
  subject: string;
  message: string;
  hint?: string | undefined;
}

export interface ScheduleHealth {
  name: string;
  schedule: string;
  paused: boolean;
  /** Time between two runs, from the cron expression; undefined when it cannot be parsed. */
  periodSeconds?: number | undefined;
  lastSuccess?: { name: string; created?: string | undefined; ageSeconds: number } | undefined;
  /** The newest backup of the schedule, whatever its phase. */
  latest?: { name: string; phase: string } | undefined;
  /** True when the schedule missed its period (no success since the last run that should have finished). */
  behind: boolean;
}

export interface BackupHealth {
  schedules: ScheduleHealth[];
  findings: Finding[];
}

/** A Velero schedule string ("0 3 * * *", "@daily", "@every 6h", "CRON_TZ=Europe/Berlin 0 3 * * *"). */
export interface CronTimes {
  /** The most recent run time at or before `at`. */
  previous(at: Date): Date;
  periodMs: number;
}

export function parseSchedule(text: string, now = new Date()): CronTimes | undefined {
  // what Velero itself accepts (one parser of its dialect: src/lib/cron.ts); then the fire times
  const check = checkCronSpec(text.trim());
  if (!check.ok || check.neverFires) return undefined;
  let expression = text.trim();
  let tz = "UTC"; // the Velero server's clock; its container runs in UTC
  const zone = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(expression);
  if (zone) {
    tz = zone[1] as string;
    expression = zone[2] as string;
  }
  const every = /^@every\s+(\S+)$/.exec(expression);
  if (every) {
    const ms = parseDuration(every[1] as string);
    if (!ms) return undefined;
    // Velero counts @every from the schedule's last run: at the latest, one period before `at`
    return { periodMs: ms, previous: (at) => new Date(at.getTime() - ms) };
  }
  try {
    const probe = cron().parse(expression, { currentDate: now, tz });
    const a = probe.prev().getTime();
    const b = probe.prev().getTime();
    return {
      periodMs: a - b,
      previous: (at) =>
        cron()
          .parse(expression, { currentDate: new Date(at.getTime() + 1), tz })
          .prev()
          .toDate(),
    };
  } catch {
    return undefined;
  }
}

function created(b: Backup): number {
  return Date.parse(b.metadata.creationTimestamp ?? "") || 0;
}

export function assessBackups(input: {
  backups: Backup[];
  schedules: Schedule[];
  locations: BackupStorageLocation[];
  now?: Date;
  maxBackupDurationMs: number;
}): BackupHealth {
  const now = input.now ?? new Date();
  const nowMs = now.getTime();
  const bound = input.maxBackupDurationMs;
  const findings: Finding[] = [];
  const newestFirst = [...input.backups].sort((a, b) => created(b) - created(a));

  const schedules = input.schedules
    .map((s): ScheduleHealth => {
      const name = s.metadata.name as string;
      const own = newestFirst.filter((b) => b.metadata.labels?.[SCHEDULE_LABEL] === name);
      const success = own.find((b) => backupPhaseState(b.status?.phase) === "completed");
      const times = parseSchedule(s.spec.schedule, now);
      const latest = own[0];
      const health: ScheduleHealth = {
        name,
        schedule: s.spec.schedule,
        paused: s.spec.paused === true,
        periodSeconds: times ? times.periodMs / 1000 : undefined,
        lastSuccess: success
          ? {
              name: success.metadata.name as string,
              created: success.metadata.creationTimestamp,
              ageSeconds: Math.round((nowMs - created(success)) / 1000),
            }
          : undefined,
        latest: latest
          ? { name: latest.metadata.name as string, phase: latest.status?.phase ?? "" }
          : undefined,
        behind: false,
      };
      if (s.status?.phase === "FailedValidation") {
        health.behind = true;
        findings.push({
          severity: "error",
          subject: `schedule ${name}`,
          message: `Velero rejected it: ${(s.status.validationErrors ?? []).join("; ") || "FailedValidation"}`,
          hint: "fix the schedule in the velero application's values and sync it",
        });
        return health;
      }
      if (!times) {
        findings.push({
          severity: "warning",
          subject: `schedule ${name}`,
          message: `cannot read its cron expression "${s.spec.schedule}", so its RPO is not checked`,
        });
        return health;
      }
      // the last run that should have finished by now (it may take up to the bound)
      const due = times.previous(new Date(nowMs - bound)).getTime();
      const since = created({ metadata: s.metadata } as Backup);
      const lastOk = success ? created(success) : undefined;
      const finishedWithoutSuccess = own.some((b) =>
        ["failed", "partially-failed"].includes(backupPhaseState(b.status?.phase)),
      );
      if (lastOk === undefined) {
        if (finishedWithoutSuccess || since < due - SCHEDULE_SLACK_MS) {
          health.behind = true;
          findings.push({
            severity: "error",
            subject: `schedule ${name}`,
            message: `no successful backup yet${latest ? ` (latest: ${latest.metadata.name} ${latest.status?.phase || "New"})` : ""}`,
            hint: latest
              ? `see why: infra backup describe ${latest.metadata.name}`
              : "is the Velero server running? (infra backup list shows whether the location is still validated)",
          });
        }
      } else if (lastOk < due - SCHEDULE_SLACK_MS) {
        health.behind = true;
        findings.push({
          severity: "error",
          subject: `schedule ${name}`,
          message: `last successful backup ${success?.metadata.name} is ${ageText(nowMs - lastOk)} old; it runs every ${ageText(times.periodMs)}${latest && latest !== success ? ` (latest: ${latest.metadata.name} ${latest.status?.phase || "New"})` : ""}`,
          hint:
            latest && latest !== success
              ? `see why: infra backup describe ${latest.metadata.name}`
              : "is the Velero server running? A backup of this schedule may be stuck (see below)",
        });
      }
      if (health.paused) {
        findings.push({
          severity: "warning",
          subject: `schedule ${name}`,
          message: "is paused: it makes no backups",
        });
      }
      return health;
    })
    .sort((a, b) => a.name.localeCompare(b.name));

  // backups that run, or wait to run, for longer than a backup may take
  const running = newestFirst.filter((b) => backupPhaseState(b.status?.phase) === "running");
  for (const b of running) {
    const started = Date.parse(b.status?.startTimestamp ?? "") || created(b);
    if (nowMs - started > bound) {
      findings.push({
        severity: "error",
        subject: `backup ${b.metadata.name}`,
        message: `has been ${b.status?.phase} for ${ageText(nowMs - started)} (longer than ${ageText(bound)}); backups queued behind it do not start and its schedule makes no new ones`,
        hint: "check the Velero server's log; restarting the server marks it Failed and lets the queue move",
      });
    }
  }
  const waiting = newestFirst.filter((b) => backupPhaseState(b.status?.phase) === "pending");
  const oldestWaiting = waiting[waiting.length - 1];
  if (oldestWaiting && nowMs - created(oldestWaiting) > bound) {
    const blocker = running[running.length - 1];
    findings.push({
      severity: "error",
      subject: `backup ${oldestWaiting.metadata.name}`,
      message: `has waited ${ageText(nowMs - created(oldestWaiting))} to start (${oldestWaiting.status?.phase || "New"}${
        oldestWaiting.status?.queuePosition ? `, queue position ${oldestWaiting.status.queuePosition}` : ""
      }); ${waiting.length} backup(s) waiting${blocker ? `, behind ${blocker.metadata.name} (${blocker.status?.phase})` : ""}`,
      hint: blocker
        ? "the backup ahead of the queue does not finish: see the findings above"
        : "Velero does not pick backups up: is the Velero server running?",
    });
  }

  for (const l of input.locations) {
    const name = l.metadata.name as string;
    const phase = l.status?.phase;
    if (phase === "Unavailable") {
      findings.push({
        severity: "error",
        subject: `location ${name}`,
        message: `is Unavailable${l.status?.message ? `: ${firstLine(l.status.message)}` : ""}`,
        hint: "check the bucket, its endpoint and the velero-r2 credentials Secret",
      });
      continue;
    }
    const validated = Date.parse(l.status?.lastValidationTime ?? "");
    const frequency = parseDuration(l.spec.validationFrequency ?? "") || DEFAULT_VALIDATION_FREQUENCY_MS;
    if (!validated) {
      findings.push({
        severity: "warning",
        subject: `location ${name}`,
        message: "has not been validated by Velero yet",
        hint: "Velero validates a new location within a minute; if it stays so, is the Velero server running?",
      });
    } else if (nowMs - validated > STALE_VALIDATIONS * frequency) {
      findings.push({
        severity: "error",
        subject: `location ${name}`,
        message: `status "${phase ?? "-"}" is stale: Velero last validated it ${ageText(nowMs - validated)} ago (it should every ${ageText(frequency)})`,
        hint: "the Velero server is not running or cannot reach the API: kubectl -n velero get pods; its log",
      });
    }
  }
  return { schedules, findings };
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() ?? text;
}

export function renderFindings(findings: Finding[]): string[] {
  return findings.flatMap((f) => [
    `${f.severity === "error" ? "✗" : "!"} ${f.subject}: ${f.message}`,
    ...(f.hint ? [`    hint: ${f.hint}`] : []),
  ]);
}

/** "Schedule daily (0 3 * * *, every 24h): last success 3h ago (daily-20260101030000)". */
export function scheduleLine(s: ScheduleHealth): string {
  const period = s.periodSeconds ? `, every ${ageText(s.periodSeconds * 1000)}` : "";
  const last = s.lastSuccess
    ? `last success ${ageText(s.lastSuccess.ageSeconds * 1000)} ago (${s.lastSuccess.name})`
    : "no successful backup";
  return `Schedule ${s.name} (${s.schedule}${period}): ${last}${s.paused ? ", paused" : ""}${s.behind ? " ✗ BEHIND" : ""}`;
}
