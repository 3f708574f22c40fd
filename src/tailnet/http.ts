/**
 * One HTTP exchange with a control server's API: a timeout that holds, bounded retries with
 * backoff for reads (a write is sent once), and failures turned into one-line errors that say
 * which server, what it answered and what to do.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { InfraError } from "../errors.js";

export interface HttpRequest {
  method: "GET" | "POST" | "PUT";
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface HttpOptions {
  /** Per attempt. */
  timeoutMs?: number;
  /** Attempts for a request that changes nothing (GET, validate); a write is tried once. */
  attempts?: number;
  signal?: AbortSignal | undefined;
  /** Who answers, for messages: "headscale at https://hs.example.com". */
  server: string;
  /** The request writes the policy: an interrupt while it is under way leaves its outcome unknown. */
  writes?: boolean;
}

export async function send(request: HttpRequest, options: HttpOptions): Promise<HttpResponse> {
  const attempts = options.attempts ?? 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
    if (options.signal) signals.push(options.signal);
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.any(signals),
        redirect: "error",
      });
      const text = await response.text();
      if (response.status >= 500 && attempt < attempts) {
        lastError = new Error(`HTTP ${response.status}`);
      } else {
        return { status: response.status, headers: response.headers, text };
      }
    } catch (error) {
      if (options.signal?.aborted) {
        throw new InfraError(
          "INTERRUPTED",
          options.writes
            ? `interrupted while ${options.server} was taking the new policy; it may or may not be in force`
            : `interrupted while waiting for ${options.server}; nothing was written`,
          {
            kind: "interrupted",
            hint: options.writes
              ? "run `infra tailnet apply --dry-run`: an empty diff means the new policy is in force"
              : "the policy in force was not changed",
          },
        );
      }
      lastError = error;
    }
    if (attempt < attempts) await sleep(500 * 2 ** (attempt - 1));
  }
  const why =
    lastError instanceof Error
      ? lastError.cause instanceof Error
        ? lastError.cause.message
        : lastError.message
      : String(lastError);
  throw new InfraError(
    "TAILNET_SERVER_UNREACHABLE",
    `${options.server} did not answer ${request.method} ${new URL(request.url).pathname}: ${why}`,
    {
      kind: "runtime",
      hint: "check the URL and that the server is up (and reachable from here); nothing was changed",
      cause: lastError,
    },
  );
}

/** The `message` of a JSON error body, else the body's first line. */
export function serverMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string" && parsed.message) return parsed.message;
  } catch {
    // not JSON
  }
  return text.trim().split("\n")[0]?.slice(0, 300) || "(empty answer)";
}
