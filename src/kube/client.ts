/**
 * A small JSON client for the Kubernetes API. @kubernetes/client-node loads the kubeconfig and
 * applies its credentials (certificates, tokens, exec plugins); requests go out through node:https
 * so that every object comes back exactly as the API server sent it (no typed deserialisation that
 * would drop fields a newer server adds), with dry-run, patch types and watches under our control.
 * Every failure becomes an InfraError that says what failed and what to do.
 */
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { InfraError } from "../errors.js";
import { type KubeAccessOptions, loadKubeConfig } from "./kubeconfig.js";

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
}

/** The API answered with an error status. `status` is the HTTP code, `reason` the Status reason. */
export class KubeApiError extends InfraError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
    readonly reason: string,
    hint: string,
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

const DEFAULT_TIMEOUT_MS = 30_000;

export class KubeClient {
  readonly context: string;
  readonly server: string;
  private readonly base: URL;

  constructor(
    private readonly kc: KubeConfig,
    context: string,
    server: string,
  ) {
    this.context = context;
    this.server = server;
    this.base = new URL(server);
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

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(path, this.base);
    url.pathname = `${this.base.pathname.replace(/\/$/, "")}${path.split("?")[0]}`;
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== "") url.searchParams.set(key, String(value));
    }
    const requestOptions: https.RequestOptions = {
      method,
      headers: { Accept: "application/json" },
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    await this.kc.applyToHTTPSOptions(requestOptions);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      requestOptions.headers = {
        ...requestOptions.headers,
        "Content-Type": options.contentType ?? "application/json",
        "Content-Length": Buffer.byteLength(payload),
      };
    }
    const what = `${method} ${path}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolveRequest, reject) => {
      const transport = url.protocol === "http:" ? http : https;
      const req = transport.request(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolveRequest({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      });
      req.on("timeout", () =>
        req.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })),
      );
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    }).catch((error: unknown) => {
      throw this.transportError(error, what);
    });
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as T;
    throw this.statusError(status, text, what);
  }

  private transportError(error: unknown, _what: string): InfraError {
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
    return new InfraError(
      "KUBE_UNREACHABLE",
      `the Kubernetes API at ${this.server} (context ${this.context}) is unreachable: ${code || detail}`,
      {
        hint: "check that Tailscale is up (`tailscale status`) and a server node is running, or pick another cluster with --context/--kubeconfig",
        cause: error,
      },
    );
  }

  private statusError(status: number, text: string, what: string): KubeApiError {
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
      default:
        return new KubeApiError(
          "KUBE_API_ERROR",
          `${what} failed with HTTP ${status}: ${message}`,
          status,
          reason,
          "retry; if it persists, check the API server's health (`infra status`)",
        );
    }
  }
}

export async function connect(
  options: KubeAccessOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<KubeClient> {
  const loaded = await loadKubeConfig(options, env, cwd);
  return new KubeClient(loaded.kc, loaded.context, loaded.server);
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
