/** What every backup and DR command shares: reaching the cluster, confirming, rendering. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { CommandContext } from "../context.js";
import { connect, type KubeClient } from "../kube/client.js";
import { formatDuration } from "../kube/wait.js";
import { Velero } from "./velero.js";

export interface ClusterOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  requestTimeoutMs?: number | undefined;
  /** Namespace Velero runs in (default: $VELERO_NAMESPACE, else "velero"). */
  veleroNamespace?: string | undefined;
}

export async function openKube(ctx: CommandContext, options: ClusterOptions): Promise<KubeClient> {
  const { kubeconfig, context, requestTimeoutMs } = options;
  const kube = await connect(
    { kubeconfig, context, requestTimeoutMs, signal: ctx.signal },
    ctx.env,
    ctx.cwd,
    ctx.workdir,
  );
  await noteContext(ctx, kube);
  return kube;
}

/** Where the last cluster command's context is remembered (git-ignored, like the kubeconfig beside it). */
const LAST_CONTEXT = join(".infra", "last-context.json");

/**
 * Warns when this command acts on another cluster than the last one did: at 3 a.m. a forgotten
 * `kubectl config use-context` must not send a restore to the wrong cluster unnoticed.
 */
async function noteContext(ctx: CommandContext, kube: KubeClient): Promise<void> {
  const file = join(ctx.cwd, LAST_CONTEXT);
  const now = { context: kube.context, server: kube.server };
  try {
    const last = JSON.parse(await readFile(file, "utf8")) as typeof now;
    if (last.context !== now.context || last.server !== now.server) {
      ctx.reporter.warn(
        `this acts on context ${now.context} (${now.server}); the last infra command used ${last.context} (${last.server})`,
      );
    }
  } catch {
    // first cluster command here, or an unreadable file: nothing to compare with
  }
  await mkdir(dirname(file), { recursive: true })
    .then(() => writeFile(file, `${JSON.stringify(now)}\n`))
    .catch(() => undefined); // a read-only checkout still works, without the warning
}

/** Connects and checks that Velero is there; reads only. */
export async function openVelero(ctx: CommandContext, options: ClusterOptions): Promise<Velero> {
  const kube = await openKube(ctx, options);
  const velero = new Velero(kube, options.veleroNamespace ?? ctx.env.VELERO_NAMESPACE ?? "velero");
  await velero.preflight();
  return velero;
}

/**
 * Asks before a change. `--yes` skips the question; without a terminal the command refuses
 * (a script must say --yes explicitly), so nothing changes by accident.
 */
/** Asking before destructive work is shared by every command: see ui/confirm.ts. */
export { confirmAction as confirm } from "../ui/confirm.js";

export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return "-";
  return formatDuration(now - Date.parse(timestamp));
}

export function until(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return "-";
  const ms = Date.parse(timestamp) - now;
  return ms < 0 ? "expired" : formatDuration(ms);
}

/** A plain text table: header row + rows, columns padded to the widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function count(n: number | undefined): string {
  return n === undefined ? "-" : String(n);
}
