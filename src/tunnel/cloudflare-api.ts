/**
 * The few Cloudflare API v4 calls `infra` makes itself (everything else is OpenTofu's): list the
 * account's tunnels by name, find a zone, list and delete DNS records. Every call has a timeout and
 * is retried a bounded number of times with backoff on network errors, 429 and 5xx; the API token
 * comes from the environment and is never logged.
 */
import pRetry from "p-retry";
import { InfraError } from "../errors.js";
import { RETRY_POLICY } from "../kube/retry.js";

export const CLOUDFLARE_API = "https://api.cloudflare.com/client/v4";

export interface Tunnel {
  id: string;
  name: string;
  created_at?: string;
  deleted_at?: string | null;
}

export interface DnsRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  proxied?: boolean;
  ttl?: number;
  comment?: string | null;
}

export interface ApiOptions {
  token: string;
  /** Default: the public API. Tests point it at a server on loopback. */
  baseUrl?: string;
  timeoutMs?: number;
  retries?: number;
  signal?: AbortSignal;
}

interface Envelope<T> {
  success?: boolean;
  errors?: { code?: number; message?: string }[];
  result?: T;
  result_info?: { page?: number; total_pages?: number };
}

export class CloudflareApi {
  private readonly base: string;
  constructor(private readonly options: ApiOptions) {
    this.base = (options.baseUrl ?? CLOUDFLARE_API).replace(/\/+$/, "");
  }

  /** Tunnels of the account with exactly this name that are not deleted. */
  async tunnelsNamed(accountId: string, name: string): Promise<Tunnel[]> {
    const found = await this.all<Tunnel>(
      `/accounts/${accountId}/cfd_tunnel?name=${encodeURIComponent(name)}&is_deleted=false`,
    );
    return found.filter((t) => t.name === name && !t.deleted_at);
  }

  async zoneId(name: string): Promise<string> {
    const zones = await this.all<{ id: string; name: string }>(`/zones?name=${encodeURIComponent(name)}`);
    const zone = zones.find((z) => z.name === name);
    if (!zone) {
      throw new InfraError("CLOUDFLARE_ZONE_NOT_FOUND", `the API token sees no zone ${name}`, {
        kind: "preflight",
        hint: "check cloudflare.zone in cluster.yaml and that CLOUDFLARE_API_TOKEN has Zone:Read on it",
      });
    }
    return zone.id;
  }

  async records(zoneId: string): Promise<DnsRecord[]> {
    return this.all<DnsRecord>(`/zones/${zoneId}/dns_records?per_page=5000`);
  }

  async deleteRecord(zoneId: string, id: string): Promise<void> {
    await this.call<unknown>("DELETE", `/zones/${zoneId}/dns_records/${id}`);
  }

  private async all<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; page <= 1000; page++) {
      const separator = path.includes("?") ? "&" : "?";
      const body = await this.call<T[]>("GET", `${path}${separator}page=${page}`);
      out.push(...(body.result ?? []));
      const total = body.result_info?.total_pages ?? 1;
      if (page >= total) break;
    }
    return out;
  }

  private async call<T>(method: string, path: string): Promise<Envelope<T>> {
    const what = `Cloudflare API ${method} ${path.split("?")[0]}`;
    const retries = this.options.retries ?? 3;
    const attempt = async (): Promise<Envelope<T>> => {
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 15_000);
      const signal = this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout;
      const response = await fetch(`${this.base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.options.token}`, Accept: "application/json" },
        signal,
      }).catch((error: unknown) => {
        if (this.options.signal?.aborted) throw error;
        throw new Transient(error instanceof Error ? error.message : String(error), { cause: error });
      });
      if (response.status === 429 || response.status >= 500) throw new Transient(`HTTP ${response.status}`);
      const body = (await response.json().catch(() => ({}))) as Envelope<T>;
      if (response.ok && body.success !== false) return body;
      const message = body.errors
        ?.map((e) => `${e.message ?? "error"}${e.code ? ` (${e.code})` : ""}`)
        .join("; ");
      const refused = response.status === 401 || response.status === 403;
      throw new InfraError(
        "CLOUDFLARE_API_FAILED",
        `${what}: HTTP ${response.status}${message ? `: ${message}` : ""}`,
        {
          kind: refused ? "preflight" : "runtime",
          hint: refused
            ? "check CLOUDFLARE_API_TOKEN: it needs Zone:Read and DNS:Edit on the zone and Cloudflare Tunnel:Read on the account"
            : "try again; the Cloudflare status page says whether the API is degraded",
        },
      );
    };
    // The same backoff as the Kubernetes client's (jittered, capped); only no answer, 429 and 5xx are retried.
    return pRetry(attempt, {
      ...RETRY_POLICY,
      retries,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      shouldRetry: ({ error }) => error instanceof Transient,
    }).catch((error: unknown) => {
      if (!(error instanceof Transient)) throw error;
      throw new InfraError(
        "CLOUDFLARE_API_UNREACHABLE",
        `${what}: no answer after ${retries + 1} attempts (${error.message})`,
        {
          hint: "check the network connection to the Cloudflare API and try again",
          cause: error,
        },
      );
    });
  }
}

/** A failure worth another attempt: no answer in time, 429 or 5xx. */
class Transient extends Error {}

/** The API client from the environment; CLOUDFLARE_API_TOKEN is required. */
export function apiFromEnv(env: NodeJS.ProcessEnv, signal?: AbortSignal): CloudflareApi {
  const token = env.CLOUDFLARE_API_TOKEN?.trim();
  if (!token) {
    throw new InfraError("CLOUDFLARE_TOKEN_MISSING", "CLOUDFLARE_API_TOKEN is not set", {
      kind: "preflight",
      hint: "export CLOUDFLARE_API_TOKEN (Zone:Read and DNS:Edit on the zone, Cloudflare Tunnel:Edit on the account), e.g. in .envrc",
    });
  }
  return new CloudflareApi({
    token,
    ...(env.INFRA_CLOUDFLARE_API_URL ? { baseUrl: env.INFRA_CLOUDFLARE_API_URL } : {}),
    ...(signal ? { signal } : {}),
  });
}
