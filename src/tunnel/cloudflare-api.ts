/**
 * The few Cloudflare API v4 calls `infra` makes itself (everything else is OpenTofu's): list the
 * account's tunnels by name, find a zone, list and delete DNS records. Every call has a timeout and
 * is retried a bounded number of times with backoff on network errors, 429 and 5xx; the API token
 * comes from the environment and is never logged.
 */
import { InfraError } from "../errors.js";

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
    const retries = this.options.retries ?? 3;
    let last: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(8000, 500 * 2 ** (attempt - 1)), this.options.signal);
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 15_000);
      const signal = this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout;
      let response: Response;
      try {
        response = await fetch(`${this.base}${path}`, {
          method,
          headers: { Authorization: `Bearer ${this.options.token}`, Accept: "application/json" },
          signal,
        });
      } catch (error) {
        if (this.options.signal?.aborted) throw error;
        last = error;
        continue;
      }
      if (response.status === 429 || response.status >= 500) {
        last = new Error(`HTTP ${response.status}`);
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as Envelope<T>;
      if (!response.ok || body.success === false) {
        const message = body.errors
          ?.map((e) => `${e.message ?? "error"}${e.code ? ` (${e.code})` : ""}`)
          .join("; ");
        throw new InfraError(
          "CLOUDFLARE_API_FAILED",
          `Cloudflare API ${method} ${path.split("?")[0]}: HTTP ${response.status}${message ? `: ${message}` : ""}`,
          {
            kind: response.status === 401 || response.status === 403 ? "preflight" : "runtime",
            hint:
              response.status === 401 || response.status === 403
                ? "check CLOUDFLARE_API_TOKEN: it needs Zone:Read and DNS:Edit on the zone and Cloudflare Tunnel:Read on the account"
                : "try again; the Cloudflare status page says whether the API is degraded",
          },
        );
      }
      return body;
    }
    throw new InfraError(
      "CLOUDFLARE_API_UNREACHABLE",
      `Cloudflare API ${method} ${path.split("?")[0]}: no answer after ${retries + 1} attempts (${String((last as Error)?.message ?? last)})`,
      { hint: "check the network connection to the Cloudflare API and try again", cause: last },
    );
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

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
