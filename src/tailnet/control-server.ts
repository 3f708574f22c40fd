/**
 * The two places a tailnet policy lives, behind one interface: headscale's API (policy.mode:
 * database; `GET/PUT /api/v1/policy`, `POST /api/v1/policy/check`) and Tailscale's tailnet policy
 * file API (`/api/v2/tailnet/{tailnet}/acl`, ETag and If-Match, `/acl/validate`). The requests are
 * built by pure functions (unit-tested); only `send` touches the network.
 */
import { InfraError } from "../errors.js";
import { type HttpRequest, type HttpResponse, send, serverMessage } from "./http.js";

export interface LivePolicy {
  /** The policy text; undefined when the server has none yet (headscale before the first set). */
  text: string | undefined;
  /** What proves nobody changed it in between: Tailscale's ETag, headscale's updated_at. */
  version: string | undefined;
}

/** A device on the tailnet as the control server knows it: its host name and its tags. */
export interface Device {
  name: string;
  tags: string[];
}

export interface ControlServer {
  kind: "headscale" | "tailscale";
  /** For messages: "headscale at https://hs.example.com", "Tailscale (tailnet example.com)". */
  name: string;
  get(): Promise<LivePolicy>;
  /** Asks the server whether it would accept `text` (its own parser and the policy's tests). */
  validate(text: string): Promise<void>;
  /** Replaces the policy, unless it changed since `version` was read. */
  set(text: string, version: string | undefined): Promise<void>;
  /** The devices on the tailnet, to tell whether a new policy would cut a node off (lockout.ts). */
  devices(): Promise<Device[]>;
}

export interface ServerOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

/**
 * One exchange with the server: a read (the policy, the devices, a validation) is retried; a write is
 * sent once, and an interrupt during it is reported as leaving the outcome unknown.
 */
type Exchange = (request: HttpRequest, use: "read" | "write") => Promise<HttpResponse>;

function exchangeWith(server: string, options: ServerOptions): Exchange {
  return (request, use) =>
    send(request, {
      server,
      attempts: use === "read" ? 3 : 1,
      writes: use === "write",
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
}

// ---------------------------------------------------------------------------------------------
// headscale

export const HEADSCALE_API_KEY_ENV = "HEADSCALE_API_KEY";

export function headscaleRequests(baseUrl: string, apiKey: string) {
  const base = baseUrl.replace(/\/+$/, "");
  const headers = { Authorization: `Bearer ${apiKey}`, Accept: "application/json" };
  const json = { ...headers, "Content-Type": "application/json" };
  return {
    get: (): HttpRequest => ({ method: "GET", url: `${base}/api/v1/policy`, headers }),
    check: (policy: string): HttpRequest => ({
      method: "POST",
      url: `${base}/api/v1/policy/check`,
      headers: json,
      body: JSON.stringify({ policy }),
    }),
    set: (policy: string): HttpRequest => ({
      method: "PUT",
      url: `${base}/api/v1/policy`,
      headers: json,
      body: JSON.stringify({ policy }),
    }),
    nodes: (): HttpRequest => ({ method: "GET", url: `${base}/api/v1/node`, headers }),
  };
}

/** `GET /api/v1/node`: `{ nodes: [{ givenName, name, tags }] }` (the given name is the host name it joined with). */
export function headscaleDevices(text: string): Device[] {
  const body = JSON.parse(text) as { nodes?: Array<Record<string, unknown>> };
  return (body.nodes ?? []).map((node) => ({
    name: String(node.givenName ?? node.given_name ?? node.name ?? ""),
    tags: Array.isArray(node.tags) ? node.tags.map(String) : [],
  }));
}

export function headscaleServer(
  baseUrl: string,
  env: NodeJS.ProcessEnv,
  options: ServerOptions = {},
): ControlServer {
  const apiKey = env[HEADSCALE_API_KEY_ENV]?.trim();
  const name = `headscale at ${baseUrl}`;
  if (!apiKey) {
    throw new InfraError(
      "TAILNET_TOKEN_MISSING",
      `${HEADSCALE_API_KEY_ENV} is not set: infra needs an API key of ${name}`,
      {
        kind: "preflight",
        hint: `create one on the headscale host (headscale apikeys create --expiration 1h) and export ${HEADSCALE_API_KEY_ENV}`,
      },
    );
  }
  const requests = headscaleRequests(baseUrl, apiKey);
  const exchange = exchangeWith(name, options);
  const refuse = (response: HttpResponse, what: string): never => {
    throw headscaleError(name, response, what);
  };
  return {
    kind: "headscale",
    name,
    async get() {
      const response = await exchange(requests.get(), "read");
      if (response.status === 200) {
        const body = JSON.parse(response.text) as { policy?: string; updatedAt?: string };
        return { text: body.policy, version: body.updatedAt };
      }
      // A headscale that has never been given a policy answers this (database mode).
      if (/acl policy not found/i.test(serverMessage(response.text)))
        return { text: undefined, version: undefined };
      return refuse(response, "read the policy");
    },
    async validate(text) {
      const response = await exchange(requests.check(text), "read");
      if (response.status !== 200) refuse(response, "accept the policy");
    },
    async set(text, version) {
      const now = await this.get();
      if (now.version !== version) throw changedMeanwhile(name);
      const response = await exchange(requests.set(text), "write");
      if (response.status !== 200) refuse(response, "accept the policy");
    },
    async devices() {
      const response = await exchange(requests.nodes(), "read");
      if (response.status !== 200) refuse(response, "list its nodes");
      return headscaleDevices(response.text);
    },
  };
}

function headscaleError(name: string, response: HttpResponse, what: string): InfraError {
  const message = serverMessage(response.text);
  if (response.status === 401 || response.status === 403) {
    return new InfraError(
      "TAILNET_TOKEN_REFUSED",
      `${name} refused the API key of ${HEADSCALE_API_KEY_ENV} (HTTP ${response.status}: ${message})`,
      {
        kind: "preflight",
        hint: "create a new key on the headscale host (headscale apikeys create) and export it; keys expire",
      },
    );
  }
  if (
    /update is disabled|policy.mode|PolicyModeDB|mode is not/i.test(message) ||
    /not.*database/i.test(message)
  ) {
    return new InfraError(
      "TAILNET_POLICY_FILE_MODE",
      `${name} keeps its policy in a file (policy.mode: file), so its API cannot change it: ${message}`,
      {
        kind: "preflight",
        hint: "set policy.mode: database in headscale's config and restart it, or copy `infra tailnet policy` into its policy file and reload it (docs/networking.md)",
      },
    );
  }
  return new InfraError("TAILNET_POLICY_REJECTED", `${name} would not ${what}: ${message}`, {
    kind: "config",
    hint: "fix cluster.yaml's tailscale section (or your own rules in the live policy) as the message says; the policy in force was not changed",
  });
}

// ---------------------------------------------------------------------------------------------
// Tailscale

export const TAILSCALE_API_KEY_ENV = "TAILSCALE_API_KEY";
export const TAILSCALE_TAILNET_ENV = "TAILSCALE_TAILNET";
export const TAILSCALE_API_URL_ENV = "TAILSCALE_API_URL";
export const TAILSCALE_API_URL = "https://api.tailscale.com";

export function tailscaleRequests(apiUrl: string, tailnet: string, token: string) {
  const tailnetUrl = `${apiUrl.replace(/\/+$/, "")}/api/v2/tailnet/${encodeURIComponent(tailnet)}`;
  const base = `${tailnetUrl}/acl`;
  const auth = { Authorization: `Bearer ${token}` };
  return {
    get: (): HttpRequest => ({
      method: "GET",
      url: base,
      headers: { ...auth, Accept: "application/hujson" },
    }),
    validate: (policy: string): HttpRequest => ({
      method: "POST",
      url: `${base}/validate`,
      headers: { ...auth, "Content-Type": "application/hujson", Accept: "application/json" },
      body: policy,
    }),
    set: (policy: string, etag: string | undefined): HttpRequest => ({
      method: "POST",
      url: base,
      headers: {
        ...auth,
        "Content-Type": "application/hujson",
        Accept: "application/hujson",
        // Tailscale refuses the write (412) when the policy changed since it was read.
        ...(etag ? { "If-Match": etag } : {}),
      },
      body: policy,
    }),
    devices: (): HttpRequest => ({
      method: "GET",
      url: `${tailnetUrl}/devices`,
      headers: { ...auth, Accept: "application/json" },
    }),
  };
}

/** `GET /api/v2/tailnet/{tailnet}/devices`: `{ devices: [{ hostname, name (the FQDN), tags }] }`. */
export function tailscaleDevices(text: string): Device[] {
  const body = JSON.parse(text) as { devices?: Array<Record<string, unknown>> };
  return (body.devices ?? []).map((device) => ({
    name: String(device.hostname ?? String(device.name ?? "").split(".")[0]),
    tags: Array.isArray(device.tags) ? device.tags.map(String) : [],
  }));
}

/** `/acl/validate` answers 200 with an empty object when the policy is fine, else a message. */
export function validationProblem(response: HttpResponse): string | undefined {
  if (response.status !== 200) return serverMessage(response.text);
  const text = response.text.trim();
  if (text === "" || text === "{}" || text === "null") return undefined;
  try {
    const body = JSON.parse(text) as { message?: unknown; data?: unknown };
    if (typeof body.message !== "string" || body.message === "") return undefined;
    const details = Array.isArray(body.data)
      ? body.data
          .flatMap((d: { user?: string; errors?: string[] }) =>
            (d.errors ?? []).map((e) => (d.user ? `${d.user}: ${e}` : e)),
          )
          .join("; ")
      : "";
    return details ? `${body.message}: ${details}` : body.message;
  } catch {
    return text.split("\n")[0];
  }
}

export function tailscaleServer(env: NodeJS.ProcessEnv, options: ServerOptions = {}): ControlServer {
  const token = env[TAILSCALE_API_KEY_ENV]?.trim();
  const tailnet = env[TAILSCALE_TAILNET_ENV]?.trim() || "-";
  const apiUrl = env[TAILSCALE_API_URL_ENV]?.trim() || TAILSCALE_API_URL;
  const name = `Tailscale (tailnet ${tailnet === "-" ? "of the API key" : tailnet})`;
  if (!token) {
    throw new InfraError(
      "TAILNET_TOKEN_MISSING",
      `${TAILSCALE_API_KEY_ENV} is not set: infra needs an API access token for ${name}`,
      {
        kind: "preflight",
        hint: `create one in the admin console (Settings > Keys; an OAuth client needs the policy_file scope) and export ${TAILSCALE_API_KEY_ENV}`,
      },
    );
  }
  const requests = tailscaleRequests(apiUrl, tailnet, token);
  const exchange = exchangeWith(name, options);
  return {
    kind: "tailscale",
    name,
    async get() {
      const response = await exchange(requests.get(), "read");
      if (response.status !== 200) throw tailscaleError(name, response, "read the policy");
      return { text: response.text, version: response.headers.get("etag") ?? undefined };
    },
    async validate(text) {
      const response = await exchange(requests.validate(text), "read");
      if (response.status === 401 || response.status === 403)
        throw tailscaleError(name, response, "validate");
      const problem = validationProblem(response);
      if (problem !== undefined) throw rejected(name, problem);
    },
    async set(text, version) {
      const response = await exchange(requests.set(text, version), "write");
      if (response.status === 412) throw changedMeanwhile(name);
      if (response.status !== 200) throw tailscaleError(name, response, "accept the policy");
    },
    async devices() {
      const response = await exchange(requests.devices(), "read");
      if (response.status !== 200) throw tailscaleError(name, response, "list the devices");
      return tailscaleDevices(response.text);
    },
  };
}

export function tailscaleError(name: string, response: HttpResponse, what: string): InfraError {
  const message = serverMessage(response.text);
  if (response.status === 401) {
    return new InfraError(
      "TAILNET_TOKEN_REFUSED",
      `${name} refused the token of ${TAILSCALE_API_KEY_ENV} (HTTP 401: ${message})`,
      {
        kind: "preflight",
        hint: "the token is unknown or expired: create a new API access token and export it",
      },
    );
  }
  if (response.status === 403) {
    return new InfraError(
      "TAILNET_TOKEN_REFUSED",
      `${name} does not let the token of ${TAILSCALE_API_KEY_ENV} ${what} (HTTP 403: ${message})`,
      {
        kind: "preflight",
        hint: "the token is read-only or lacks the policy_file scope: use an admin's API access token or an OAuth client with policy_file write access",
      },
    );
  }
  if (response.status === 400) return rejected(name, message);
  return new InfraError(
    "TAILNET_SERVER_FAILED",
    `${name} could not ${what}: HTTP ${response.status}: ${message}`,
    {
      kind: "runtime",
      hint: "try again later; the policy in force was not changed",
    },
  );
}

function rejected(name: string, message: string): InfraError {
  return new InfraError("TAILNET_POLICY_REJECTED", `${name} would not accept the policy: ${message}`, {
    kind: "config",
    hint: "fix cluster.yaml's tailscale section (or your own rules in the live policy) as the message says; the policy in force was not changed",
  });
}

function changedMeanwhile(name: string): InfraError {
  return new InfraError(
    "TAILNET_POLICY_CHANGED",
    `the policy on ${name} changed while infra was preparing its update; nothing was sent`,
    {
      kind: "runtime",
      hint: "re-run `infra tailnet apply` to see the new diff",
    },
  );
}
