/** `infra backup logs NAME`: the log Velero stored with a backup (or a restore), via a DownloadRequest. */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { type ClusterOptions, openVelero } from "./common.js";
import { backupPhaseState, isTerminal, restorePhaseState } from "./velero.js";

export interface BackupLogsOptions extends ClusterOptions {
  name: string;
  /** NAME is a restore: print the restore's log instead. */
  restore?: boolean | undefined;
}

export interface BackupLogsResult {
  kind: "backup" | "restore";
  name: string;
  phase: string;
  log: string;
}

export async function backupLogsCommand(
  ctx: CommandContext,
  options: BackupLogsOptions,
): Promise<Outcome<BackupLogsResult>> {
  const velero = await openVelero(ctx, options);
  const kind = options.restore ? "restore" : "backup";
  const phase = options.restore
    ? ((await velero.restore(options.name)).status?.phase ?? "")
    : ((await velero.backup(options.name)).status?.phase ?? "");
  const state = options.restore ? restorePhaseState(phase) : backupPhaseState(phase);
  if (!isTerminal(state)) {
    throw new InfraError(
      "LOG_NOT_READY",
      `${kind} ${options.name} is ${phase || "New"}; Velero uploads its log when it finishes`,
      {
        hint: `wait for it (\`infra backup describe ${options.name}\`) and retry`,
      },
    );
  }
  if (phase === "FailedValidation") {
    throw new InfraError(
      "LOG_NOT_FOUND",
      `${kind} ${options.name} failed validation, so Velero stored no log`,
      {
        hint: `the reasons are in \`infra backup describe ${options.name}\``,
      },
    );
  }
  let log: string;
  try {
    log = await velero.download(
      options.restore ? "RestoreLog" : "BackupLog",
      options.name,
      60_000,
      ctx.signal,
    );
  } catch (error) {
    if (error instanceof InfraError && error.code === "DOWNLOAD_NOT_FOUND" && phase === "FailedValidation") {
      throw new InfraError(
        "LOG_NOT_FOUND",
        `${kind} ${options.name} failed validation, so Velero stored no log`,
        {
          hint: `the reasons are in \`infra backup describe ${options.name}\``,
        },
      );
    }
    throw error;
  }
  return outcome({ kind, name: options.name, phase, log }, (r) => r.log);
}
