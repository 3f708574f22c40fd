/**
 * Waiting for the cluster: poll a condition until it holds, the timeout passes or the user
 * interrupts. Polling (not a watch) because it survives flaky Tailscale links and proxies
 * that cut long requests; the interval is short enough for progress to feel live.
 */
import { InfraError } from "../errors.js";
import { trace } from "../ui/trace.js";
import { transient } from "./retry.js";

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal | undefined;
  /** What is being waited for, for the timeout message ("backup nightly to finish"). */
  what: string;
  /** What to do when the wait times out, or what state an interrupt leaves behind. */
  hint: string;
  /** Called once when the API starts failing transiently (e.g. to warn that the wait goes on). */
  onTransient?: (error: Error) => void;
  /**
   * Starts something that calls `wake` when the awaited state may have changed (a watch), so the next
   * check runs at once instead of after the interval; `signal` aborts when the wait ends. The interval
   * polling stays: it is what holds when the watch fails or a proxy cuts it.
   */
  wake?: (wake: () => void, signal: AbortSignal) => void;
}

/**
 * Calls `check` until it returns a value other than undefined. A transient API failure (the
 * server restarting, a tailnet blip: kube/retry.ts) does not end the wait: polling goes on until
 * the deadline, and only then is the last failure reported. A Ctrl-C ends it with the wait's hint,
 * which says what state is left behind.
 */
export async function waitFor<T>(check: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 1000;
  const interrupted = () =>
    new InfraError("INTERRUPTED", `interrupted while waiting for ${options.what}`, {
      kind: "interrupted",
      hint: options.hint,
    });
  let failing: unknown;
  // a wake that comes during a check makes the next pause zero: the change may be after that read
  let woken = false;
  let endPause: (() => void) | undefined;
  const stop = new AbortController();
  options.wake?.(() => {
    woken = true;
    endPause?.();
  }, stop.signal);
  try {
    return await poll();
  } finally {
    stop.abort();
  }

  async function poll(): Promise<T> {
    for (;;) {
      if (options.signal?.aborted) throw interrupted();
      let value: T | undefined;
      try {
        value = await check();
        if (failing !== undefined) trace(`wait: the API answers again (${options.what})`);
        failing = undefined;
      } catch (error) {
        if (options.signal?.aborted) throw interrupted();
        if (!transient(error)) throw error;
        if (failing === undefined) options.onTransient?.(error as Error);
        trace(`wait: ${(error as Error).message}; still waiting for ${options.what}`);
        failing = error;
      }
      if (value !== undefined) return value;
      if (Date.now() >= deadline) {
        if (failing !== undefined) throw failing;
        throw new InfraError(
          "WAIT_TIMEOUT",
          `timed out after ${formatDuration(options.timeoutMs)} waiting for ${options.what}`,
          {
            hint: options.hint,
          },
        );
      }
      if (!woken) await pause(Math.min(interval, Math.max(0, deadline - Date.now())));
      woken = false;
    }
  }

  /** Sleeps until the interval passes, a wake comes or the user interrupts; leaves no timer behind. */
  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (options.signal?.aborted) return resolve();
      const end = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", end);
        endPause = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      options.signal?.addEventListener("abort", end, { once: true });
      endPause = end;
    });
  }
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration ("30m", "720h0m0s", "1h30m", "90s") into milliseconds; undefined if invalid. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNITS[match[2] as string] ?? 0);
  }
  return total;
}

/** A duration option, or a usage error naming the flag. */
export function durationOption(flag: string, text: string, { minMs = 0 }: { minMs?: number } = {}): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new InfraError("INVALID_DURATION", `"${text}" is not a duration`, {
      kind: "usage",
      location: { path: flag },
      hint: 'use a Go duration such as "30m", "2h" or "720h0m0s"',
    });
  }
  if (ms < minMs) {
    throw new InfraError("INVALID_DURATION", `"${text}" is too short: at least ${formatDuration(minMs)}`, {
      kind: "usage",
      location: { path: flag },
      hint: 'use a Go duration such as "10m" or "1h"',
    });
  }
  return ms;
}

/** Milliseconds as Go formats a duration ("1h2m3s"), for Velero's ttl field. */
export function goDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return `${h}h${m}m${s}s`;
}

/** Short human duration: "42s", "3m05s", "2h10m", "3d4h". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d${hours % 24}h`;
}
