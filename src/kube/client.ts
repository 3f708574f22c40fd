/**
 * A small JSON client for the Kubernetes API. Requests go out through node:https with the
 * kubeconfig's credentials (kubeconfig.ts, credentials.ts), so every object comes back exactly as
 * the API server sent it (no typed deserialisation that would drop fields a newer server adds),
 * with dry-run, patch types and watches under our control.
 *
 * Every request has a deadline that holds (`--request-timeout`, default 30 s, retries included),
 * and transient failures are retried with backoff and jitter (p-retry; which ones: retry.ts).
 * Every failure becomes an InfraError that says what failed and what to do.
 */
import http from "node:http";
import https from "node:https";
import pRetry from "p-retry";
import { InfraError } from "../errors.js";
import { trace, tracing } from "../ui/trace.js";
import { Credentials } from "./credentials.js";
import { type KubeAccessOptions, type LoadedKubeConfig, loadKubeConfig } from "./kubeconfig.js";
import { KubeTimeoutError, KubeTransportError, RETRY_POLICY, retryAfterMs, retryable } from "./retry.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  finalizers?: string[];
  [key: string]: unknown;
}

export interface KubeList<T> {
  items: T[];
  metadata: { continue?: string; resourceVersion?: string };
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  contentType?: string;
  timeoutMs?: number;
  /**
   * Whether repeating the request is harmless (default: every method but POST). A request that is
   * not idempotent is retried only when it provably never reached the server.
   */
  idempotent?: boolean;
  /** Return the body as text (health endpoints such as /readyz answer plain text). */
  text?: boolean;
}

/** The API answered with an error status. `status` is the HTTP code, `reason` the Status reason. */
export class KubeApiError extends InfraError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
    readonly reason: string,
    hint: string,
    /** Seconds the server asked to wait (Retry-After on 429/503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message, { hint });
  }
}

export function isNotFound(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError && error.status === 404;
}

export function isConflict(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError && error.status === 409;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface KubeClientOptions {
  requestTimeoutMs?: number | undefined;
  /** Cancels every in-flight and later request (the first Ctrl-C). */
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv;
}

export class KubeClient {
  readonly context: string;
  readonly server: string;
  /** The kubeconfig files read and how they were chosen (for --verbose and messages). */
  readonly files: readonly string[];
  private readonly base: URL;
  private readonly credentials: Credentials;
  private readonly requestTimeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly loaded: LoadedKubeConfig,
    options: KubeClientOptions = {},
    credentials?: Credentials,
  ) {
    this.context = loaded.context;
    this.server = loaded.server;
    this.files = loaded.files;
    this.base = new URL(loaded.server);
    this.credentials = credentials ?? new Credentials(loaded.auth, options.env ?? process.env);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.signal = options.signal;
  }

  /**
   * The same cluster and credentials, but deaf to the command's Ctrl-C: for the few bounded
   * requests a command makes after an interrupt to remove what it made (the caller bounds them, or
   * gives a shorter request timeout).
   */
  uncancellable(requestTimeoutMs = this.requestTimeoutMs): KubeClient {
    return new KubeClient(this.loaded, { requestTimeoutMs }, this.credentials);
  }

  async get<T = KubeObject>(path: string, query?: RequestOptions["query"]): Promise<T> {
    return this.request<T>("GET", path, { query });
  }

  /** GET that answers undefined instead of throwing when the object does not exist. */
  async find<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Lists every page of a collection. */
  async list<T = KubeObject>(path: string, query: RequestOptions["query"] = {}): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page: KubeList<T> = await this.get<KubeList<T>>(path, { limit: 500, ...query, continue: token });
      items.push(...(page.items ?? []));
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  async create<T = KubeObject>(path: string, body: unknown, dryRun = false): Promise<T> {
    return this.request<T>("POST", path, { body, query: dryRun ? { dryRun: "All" } : undefined });
  }

  async patch<T = KubeObject>(path: string, body: unknown, dryRun = false): Promise<T> {
    return this.request<T>("PATCH", path, {
      body,
      contentType: "application/merge-patch+json",
      query: dryRun ? { dryRun: "All" } : undefined,
    });
  }

  async delete(path: string, options: { gracePeriodSeconds?: number; dryRun?: boolean } = {}): Promise<void> {
    await this.request("DELETE", path, {
      query: {
        gracePeriodSeconds: options.gracePeriodSeconds,
        dryRun: options.dryRun ? "All" : undefined,
        propagationPolicy: "Background",
      },
    });
  }

  /**
   * Calls `onChange` whenever the API server reports a change in the collection at `path` (a watch,
   * narrowed by `query`, e.g. a field selector) until `signal` aborts. It only wakes a poll early: the
   * events are not read, and a watch that is refused, fails or ends is left alone (the poll goes on).
   */
  watchChanges(
    path: string,
    query: RequestOptions["query"],
    onChange: () => void,
    signal: AbortSignal,
  ): void {
    const url = this.url(path, { ...query, watch: 1, timeoutSeconds: 600 });
    const cancel = this.signal ? AbortSignal.any([this.signal, signal]) : signal;
    if (tracing()) trace(`api: WATCH ${url.toString()}`);
    const options: https.RequestOptions = {
      method: "GET",
      headers: { Accept: "application/json" },
      signal: cancel,
    };
    this.credentials
      .apply(options, cancel)
      .then(() => {
        const transport = url.protocol === "http:" ? http : https;
        const req = transport.request(url, options, (res) => {
          if (res.statusCode === 200) res.on("data", onChange);
          else trace(`api: WATCH ${path} answered HTTP ${res.statusCode}; polling only`);
          res.on("error", () => undefined);
          res.resume();
        });
        req.on("error", () => undefined);
        req.end();
      })
      .catch(() => undefined);
  }

  private url(path: string, query: RequestOptions["query"] = {}): URL {
    const url = new URL(path, this.base);
    url.pathname = `${this.base.pathname.replace(/\/$/, "")}${path.split("?")[0]}`;
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== "") url.searchParams.set(key, String(value));
    }
    return url;
  }

  /**
   * One API call: retried on transient failures (retry.ts) until its deadline, the request
   * timeout, which covers every attempt; a Ctrl-C cancels it at once.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const what = `${method} ${path}`;
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, deadline]) : deadline;
    const idempotent = options.idempotent ?? method !== "POST";
    const started = Date.now();
    if (tracing()) trace(`api: ${method} ${url.toString()}`);
    const attempt = async (): Promise<T> => {
      try {
        return await this.send<T>(method, url, options, what, signal);
      } catch (error) {
        if (this.signal?.aborted) throw this.signal.reason;
        if (deadline.aborted) {
          throw new KubeTimeoutError(
            `${what}: no answer from the Kubernetes API at ${this.server} within ${timeoutMs / 1000} s`,
            error,
          );
        }
        throw error;
      }
    };
    let last: unknown;
    return pRetry(attempt, {
      ...RETRY_POLICY,
      signal,
      maxRetryTime: timeoutMs,
      shouldRetry: ({ error }) => !signal.aborted && retryable(error, idempotent),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        last = error;
        if (signal.aborted || !retryable(error, idempotent) || retriesLeft === 0) return;
        if (error instanceof KubeApiError && error.status === 401) this.credentials.invalidate();
        const wait = retryAfterMs(error, timeoutMs - (Date.now() - started));
        trace(
          `api: ${what} failed (${error.message.split("\n")[0]}); retry ${attemptNumber}${wait ? ` after ${wait} ms (Retry-After)` : ""}`,
        );
        if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
      },
    }).catch((error: unknown) => {
      // a cancel or the deadline during a backoff pause rejects with the signal's bare reason
      if (this.signal?.aborted) throw this.signal.reason;
      if (error instanceof InfraError) throw error;
      if (last instanceof InfraError) throw last;
      throw new KubeTimeoutError(
        `${what}: no answer from the Kubernetes API at ${this.server} within ${timeoutMs / 1000} s`,
        error,
      );
    });
  }

  private async send<T>(
    method: string,
    url: URL,
    options: RequestOptions,
    what: string,
    signal: AbortSignal,
  ): Promise<T> {
    const requestOptions: https.RequestOptions = {
      method,
      headers: { Accept: "application/json" },
      signal,
    };
    await this.credentials.apply(requestOptions, signal);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      requestOptions.headers = {
        ...requestOptions.headers,
        "Content-Type": options.contentType ?? "application/json",
        "Content-Length": Buffer.byteLength(payload),
      };
    }
    const { status, text, retryAfter } = await new Promise<{
      status: number;
      text: string;
      retryAfter?: string;
    }>((resolveRequest, reject) => {
      const transport = url.protocol === "http:" ? http : https;
      const req = transport.request(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const header = res.headers["retry-after"];
          resolveRequest({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            ...(header ? { retryAfter: header } : {}),
          });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    }).catch((error: unknown) => {
      throw this.transportError(error, what);
    });
    if (status >= 200 && status < 300) {
      if (options.text) return text as T;
      return (text ? JSON.parse(text) : {}) as T;
    }
    throw this.statusError(status, text, what, retryAfter);
  }

  private transportError(error: unknown, what: string): InfraError {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const detail = error instanceof Error ? error.message : String(error);
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ALTNAME/.test(code)) {
      return new InfraError(
        "KUBE_TLS_FAILED",
        `the API server at ${this.server} presented a certificate the kubeconfig does not trust (${code})`,
        {
          hint: "the kubeconfig belongs to another cluster or the server was rebuilt: fetch a fresh kubeconfig from a server node",
          cause: error,
        },
      );
    }
    return new KubeTransportError(
      `${what}: the Kubernetes API at ${this.server} (context ${this.context}) is unreachable: ${code || detail}`,
      code,
      error,
    );
  }

  private statusError(status: number, text: string, what: string, retryAfter?: string): KubeApiError {
    let message = text.trim().split("\n")[0] ?? "";
    let reason = "";
    try {
      const body = JSON.parse(text) as { message?: string; reason?: string };
      message = body.message ?? message;
      reason = body.reason ?? "";
    } catch {
      // not a Status object (e.g. a proxy's HTML page): keep the first line
    }
    switch (status) {
      case 401:
        return new KubeApiError(
          "KUBE_UNAUTHORIZED",
          `the API server rejected the credentials of context ${this.context}: ${message}`,
          status,
          reason,
          "the kubeconfig's certificate or token is expired or revoked: fetch a fresh kubeconfig",
        );
      case 403:
        return new KubeApiError(
          "KUBE_FORBIDDEN",
          `forbidden: ${message}`,
          status,
          reason,
          "grant this user the permissions listed in docs/disaster-recovery.md (RBAC for the infra CLI), or use an admin context",
        );
      case 404:
        return new KubeApiError("KUBE_NOT_FOUND", `${what}: ${message || "not found"}`, status, reason, "");
      case 409:
        return new KubeApiError("KUBE_CONFLICT", message || `${what}: conflict`, status, reason, "");
      case 422:
        return new KubeApiError(
          "KUBE_INVALID",
          `the API server rejected the object: ${message}`,
          status,
          reason,
          "fix the values named in the message",
        );
      default: {
        const seconds = retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
        return new KubeApiError(
          status === 429 ? "KUBE_THROTTLED" : "KUBE_API_ERROR",
          `${what} failed with HTTP ${status}: ${message}`,
          status,
          reason,
          status === 429
            ? "the API server is overloaded; try again in a minute"
            : "retry; if it persists, check the API server's health and logs",
          seconds,
        );
      }
    }
  }
}

/**
 * Loads the kubeconfig by the one rule (kubeconfig.ts) and returns a client; `--verbose` names
 * the file and context. `root` is the repository root, `workdir` where relative paths resolve.
 */
export async function connect(
  options: KubeAccessOptions,
  env: NodeJS.ProcessEnv,
  root: string,
  workdir: string = root,
): Promise<KubeClient> {
  const loaded = await loadKubeConfig(options, env, root, workdir);
  trace(
    `kubeconfig: ${loaded.files.join(", ")} (from ${loaded.source}), context ${loaded.context}, server ${loaded.server}`,
  );
  return new KubeClient(loaded, {
    requestTimeoutMs: options.requestTimeoutMs,
    signal: options.signal,
    env,
  });
}

/** REST path of a namespaced or cluster-scoped resource. */
export function resourcePath(
  apiVersion: string,
  plural: string,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const prefix = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  let path = prefix;
  if (namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}
