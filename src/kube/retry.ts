/**
 * Which Kubernetes API failures are transient, and how they are retried. A flaky tailnet drops
 * connections and times out; an API server restarting refuses connections or answers 5xx; a
 * busy one answers 429 with Retry-After. Those are retried with exponential backoff and jitter
 * (p-retry), bounded by the request's deadline. Repeating a request that is not idempotent (a
 * POST) is harmless only when it never reached the server: refused connection, unresolved name,
 * or a 429 (the server rejected it before acting).
 */
import { InfraError } from "../errors.js";

/** Backoff 0.25 s, 0.5 s, 1 s, 2 s, ... (up to 4 s), each times a random factor in [1, 2). */
export const RETRY_POLICY = {
  retries: 6,
  factor: 2,
  minTimeout: 250,
  maxTimeout: 4000,
  randomize: true,
} as const;

/** The request never reached the server. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** The request may or may not have been processed. */
const MAYBE_SENT = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "UND_ERR_SOCKET"]);

/** The API server could not be reached, or the connection broke. */
export class KubeTransportError extends InfraError {
  constructor(
    message: string,
    readonly errno: string,
    cause: unknown,
  ) {
    super("KUBE_UNREACHABLE", message, {
      hint: "check that Tailscale is up (`tailscale status`) and a server node is running, or pick another cluster with --context/--kubeconfig",
      cause,
    });
  }
}

/** A request got no answer before its deadline (--request-timeout), retries included. */
export class KubeTimeoutError extends InfraError {
  constructor(message: string, cause: unknown) {
    super("KUBE_TIMEOUT", message, {
      hint: "check that Tailscale is up (`tailscale status`) and a server node is running; --request-timeout waits longer",
      cause,
    });
  }
}

interface StatusLike {
  status: number;
  retryAfterSeconds?: number | undefined;
}

function statusOf(error: unknown): StatusLike | undefined {
  const candidate = error as Partial<StatusLike> | undefined;
  return candidate && typeof candidate.status === "number" && error instanceof InfraError
    ? (candidate as StatusLike)
    : undefined;
}

/** Worth another attempt: a transient failure, and for a non-idempotent request one that was never processed. */
export function retryable(error: unknown, idempotent: boolean): boolean {
  if (error instanceof KubeTransportError) {
    const hungUp = error.errno === "" && /socket hang up/i.test(error.message);
    if (NOT_SENT.has(error.errno)) return true;
    return idempotent && (MAYBE_SENT.has(error.errno) || hungUp);
  }
  const status = statusOf(error)?.status;
  if (status === undefined) return false;
  if (status === 429) return true;
  return idempotent && (status === 500 || status === 502 || status === 503 || status === 504);
}

/**
 * A transient failure for a wait, which polls with reads: anything a read would retry, and a read
 * that ran out of time (the next poll may find the API back).
 */
export function transient(error: unknown): boolean {
  return error instanceof KubeTimeoutError || retryable(error, true);
}

/** How long the server asked to wait (Retry-After), capped by the time left; 0 when it did not ask. */
export function retryAfterMs(error: unknown, leftMs: number): number {
  const seconds = statusOf(error)?.retryAfterSeconds;
  if (seconds === undefined) return 0;
  return Math.max(0, Math.min(seconds * 1000, leftMs - 100));
}
