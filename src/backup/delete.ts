/**
 * `infra backup delete NAME`: through a DeleteBackupRequest, like `velero backup delete` — Velero then
 * removes the backup's files, its Kopia snapshots and the Backup object. Deleting the Backup object
 * directly would leave the data in the bucket (and the BSL sync would bring the object back).
 */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { durationOption, waitFor } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type ClusterOptions, confirm, openVelero } from "./common.js";
import { CREATED_BY, CREATED_BY_LABEL, type DeleteBackupRequest, VELERO_API, type Velero } from "./velero.js";

export interface BackupDeleteOptions extends ClusterOptions {
  name: string;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  wait?: boolean | undefined;
  timeout?: string | undefined;
}

export interface BackupDeleteResult {
  name: string;
  phase: string;
  dryRun: boolean;
  request?: string | undefined;
  deleted: boolean;
  errors: string[];
  /** Without --wait: whether Velero took the request up within a few seconds. */
  pickedUp?: boolean | undefined;
}

export async function backupDeleteCommand(
  ctx: CommandContext,
  options: BackupDeleteOptions,
): Promise<Outcome<BackupDeleteResult>> {
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const velero = await openVelero(ctx, options);
  const backup = await velero.backup(options.name);
  const phase = backup.status?.phase ?? "";
  if (options.dryRun) {
    return outcome(
      { name: options.name, phase, dryRun: true, deleted: false, errors: [] },
      (r) =>
        `Dry run: would delete backup ${r.name} (${r.phase || "New"}) with its files and Kopia snapshots; nothing changed.`,
    );
  }
  await confirm(ctx, `Delete backup ${options.name} and its data in the bucket?`, options.yes);
  const result = await requestDeletion(
    ctx,
    velero,
    options.name,
    backup.metadata.uid as string,
    options.wait === true,
    timeoutMs,
  );
  return outcome({ ...result, phase, dryRun: false }, render, result.errors.length ? 1 : undefined);
}

/** Creates the DeleteBackupRequest and (optionally) waits until the backup is gone. */
export async function requestDeletion(
  ctx: CommandContext,
  velero: Velero,
  name: string,
  uid: string,
  wait: boolean,
  timeoutMs: number,
): Promise<{ name: string; request: string; deleted: boolean; errors: string[]; pickedUp?: boolean }> {
  const request: DeleteBackupRequest = {
    apiVersion: VELERO_API,
    kind: "DeleteBackupRequest",
    metadata: {
      generateName: `${name.slice(0, 50)}-`,
      namespace: velero.namespace,
      labels: { "velero.io/backup-name": name, "velero.io/backup-uid": uid, [CREATED_BY_LABEL]: CREATED_BY },
    },
    spec: { backupName: name },
  };
  const created = await velero.kube.create<DeleteBackupRequest>(velero.path("deletebackuprequests"), request);
  const requestName = created.metadata.name as string;
  ctx.reporter.step(`backup ${name}`, `deletion requested (${requestName})`);
  if (!wait)
    return { name, request: requestName, deleted: false, ...(await accepted(ctx, velero, requestName)) };
  const outcomeOf = await waitFor(
    async () => {
      const gone = !(await velero.kube.find(velero.path("backups", name)));
      if (gone) return { deleted: true, errors: [] as string[] };
      const current = await velero.kube.find<DeleteBackupRequest>(
        velero.path("deletebackuprequests", requestName),
      );
      if (current?.status?.phase === "Processed" && (current.status.errors ?? []).length > 0) {
        return { deleted: false, errors: current.status.errors ?? [] };
      }
      return undefined;
    },
    {
      timeoutMs,
      signal: ctx.signal,
      what: `backup ${name} to be deleted`,
      hint: `Velero keeps working on it; check \`infra backup describe ${name}\` later`,
    },
  );
  return { name, request: requestName, ...outcomeOf };
}

/** How long `backup delete` without --wait waits for Velero to accept or refuse the request. */
const ACCEPT_MS = 10_000;

/**
 * Velero checks a deletion request at once (a running backup, a read-only or unavailable location
 * make it refuse): wait for that verdict, not for the deletion itself.
 */
async function accepted(
  ctx: CommandContext,
  velero: Velero,
  request: string,
): Promise<{ errors: string[]; pickedUp: boolean }> {
  return waitFor(
    async () => {
      const current = await velero.kube.find<DeleteBackupRequest>(
        velero.path("deletebackuprequests", request),
      );
      const phase = current?.status?.phase ?? "";
      if (phase === "Processed") return { errors: current?.status?.errors ?? [], pickedUp: true };
      return phase === "InProgress" || !current ? { errors: [], pickedUp: true } : undefined;
    },
    {
      timeoutMs: ACCEPT_MS,
      intervalMs: 200,
      signal: ctx.signal,
      what: "Velero to accept the deletion request",
      hint: "",
    },
  ).catch((error: unknown) => {
    if (error instanceof InfraError && error.code === "WAIT_TIMEOUT") return { errors: [], pickedUp: false };
    throw error;
  });
}

function render(r: BackupDeleteResult): string {
  if (r.errors.length) {
    return [`✗ Velero refused to delete backup ${r.name}:`, ...r.errors.map((e) => `  ${e}`)].join("\n");
  }
  if (r.deleted) return `✓ Backup ${r.name} and its data are deleted.`;
  if (r.pickedUp === false)
    return `Deletion of backup ${r.name} requested (${r.request}), but Velero has not picked it up in ${ACCEPT_MS / 1000} s: is the Velero server running? (infra status)`;
  return `Velero is deleting backup ${r.name} and its data (request ${r.request}); follow it with: infra backup describe ${r.name}`;
}
