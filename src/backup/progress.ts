/** Waiting for a Backup or Restore to reach a terminal phase, with progress lines. */
import type { CommandContext } from "../context.js";
import { formatDuration, type WaitOptions, waitFor } from "../kube/wait.js";
import {
  type Backup,
  backupPhaseState,
  isTerminal,
  type PhaseState,
  type Restore,
  restorePhaseState,
  type Velero,
} from "./velero.js";

const STALL_WARNING_MS = 60_000;

interface Tracked {
  phase: string;
  state: PhaseState;
  done?: number | undefined;
  total?: number | undefined;
  queuePosition?: number | undefined;
}

/**
 * A watch on one Backup or Restore that wakes the poll when Velero changes it: the upstream CLI
 * watches, so it sees the end at once; a poll alone saw it on average half an interval later.
 */
function watchOne(velero: Velero, plural: string, name: string): WaitOptions["wake"] {
  return (wake, signal) =>
    velero.kube.watchChanges(velero.path(plural), { fieldSelector: `metadata.name=${name}` }, wake, signal);
}

/**
 * Polling interval while waiting. Velero finishes a small backup in a second or two; a 1 s poll
 * added on average half a second per wait, which is most of what a backup-and-restore took
 * beyond the upstream CLI (that one watches). One GET of one object is cheap even over the tailnet.
 */
const POLL_MS = 200;

async function track<T>(
  ctx: CommandContext,
  subject: string,
  read: () => Promise<T>,
  view: (object: T) => Tracked,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    what: string;
    hint: string;
    /** What holds the queue up, for the warning when the queue position does not move. */
    queueAhead?: () => Promise<string>;
    /** Wakes the poll when the object changes (a watch; see WaitOptions.wake). */
    wake?: WaitOptions["wake"];
  },
): Promise<T> {
  let last = "";
  let warnedUnknown = "";
  const started = Date.now();
  let stallWarned = false;
  let queue = { position: 0, since: started };
  return waitFor(
    async () => {
      const object = await read();
      const v = view(object);
      const progress = v.total ? ` ${v.done ?? 0}/${v.total} items` : "";
      const position = v.queuePosition ? ` (queue position ${v.queuePosition})` : "";
      const line = `${v.phase || "New"}${progress}${position}`;
      if (line !== last) ctx.reporter.step(subject, line);
      last = line;
      if (v.state === "unknown" && warnedUnknown !== v.phase) {
        warnedUnknown = v.phase;
        ctx.reporter.warn(`${subject}: phase "${v.phase}" is new to this CLI; waiting for a phase it knows`);
      }
      if (v.queuePosition !== queue.position) queue = { position: v.queuePosition ?? 0, since: Date.now() };
      if (v.state === "pending" && !stallWarned) {
        if (!v.queuePosition && Date.now() - started > STALL_WARNING_MS) {
          stallWarned = true;
          ctx.reporter.warn(
            `${subject}: Velero has not started it after a minute — is the Velero server running?`,
          );
        } else if (v.queuePosition && Date.now() - queue.since > STALL_WARNING_MS) {
          stallWarned = true;
          const ahead = options.queueAhead ? await options.queueAhead().catch(() => "") : "";
          ctx.reporter.warn(
            `${subject}: queue position ${v.queuePosition} has not moved for a minute${ahead ? ` — ahead of it: ${ahead}` : ""}; \`infra status\` shows backups stuck in progress`,
          );
        }
      }
      return isTerminal(v.state) ? object : undefined;
    },
    { signal: ctx.signal, intervalMs: options.intervalMs ?? POLL_MS, ...options },
  );
}

export async function waitForBackup(
  ctx: CommandContext,
  velero: Velero,
  name: string,
  timeoutMs: number,
): Promise<Backup> {
  return track(
    ctx,
    `backup ${name}`,
    () => velero.backup(name),
    (b) => ({
      phase: b.status?.phase ?? "",
      state: backupPhaseState(b.status?.phase),
      done: b.status?.progress?.itemsBackedUp,
      total: b.status?.progress?.totalItems,
      queuePosition: b.status?.queuePosition,
    }),
    {
      timeoutMs,
      wake: watchOne(velero, "backups", name),
      what: `backup ${name} to finish`,
      hint: `the backup continues in the cluster; follow it with \`infra backup describe ${name}\``,
      queueAhead: async () =>
        (await velero.backups())
          .filter((b) => backupPhaseState(b.status?.phase) === "running")
          .map(
            (b) =>
              `${b.metadata.name} (${b.status?.phase} for ${formatDuration(Date.now() - Date.parse(b.status?.startTimestamp ?? b.metadata.creationTimestamp ?? ""))})`,
          )
          .join(", "),
    },
  );
}

export async function waitForRestore(
  ctx: CommandContext,
  velero: Velero,
  name: string,
  timeoutMs: number,
): Promise<Restore> {
  return track(
    ctx,
    `restore ${name}`,
    () => velero.restore(name),
    (r) => ({
      phase: r.status?.phase ?? "",
      state: restorePhaseState(r.status?.phase),
      done: r.status?.progress?.itemsRestored,
      total: r.status?.progress?.totalItems,
    }),
    {
      timeoutMs,
      wake: watchOne(velero, "restores", name),
      what: `restore ${name} to finish`,
      hint: `the restore continues in the cluster; follow it with \`infra backup logs ${name} --restore\``,
    },
  );
}
