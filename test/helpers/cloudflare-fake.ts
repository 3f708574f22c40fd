/**
 * A stand-in for the few Cloudflare API v4 endpoints `infra` calls itself (tunnels by name, zones,
 * DNS records: list and delete), on 127.0.0.1 with a port the OS picks. The real API cannot run
 * here; this keeps the wire format (envelope, pagination, errors) the client must handle, and lets a
 * test make it fail (status codes, a stall) to prove the client's timeouts and retries.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DnsRecord } from "../../src/tunnel/cloudflare-api.js";

/** A record as the API lists it (the client's own type: one definition of the wire format). */
export type FakeRecord = DnsRecord;

export interface FakeCloudflare {
  url: string;
  token: string;
  tunnels: { id: string; name: string; account: string; created_at: string; deleted_at: string | null }[];
  zones: { id: string; name: string }[];
  records: Map<string, FakeRecord[]>;
  /** Requests seen, as "METHOD path". */
  requests: string[];
  /** Answers for the next requests (status codes), then normal service; "stall" never answers. */
  failNext: (number | "stall")[];
  perPage: number;
  stop(): Promise<void>;
}

export async function startFakeCloudflare(): Promise<FakeCloudflare> {
  const state: Omit<FakeCloudflare, "url" | "stop"> = {
    token: "test-token-0123456789abcdefghijklmnopqrstuvwxyz",
    tunnels: [],
    zones: [],
    records: new Map(),
    requests: [],
    failNext: [],
    perPage: 50,
  };
  const server: Server = createServer((req, res) => handle(state, req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/client/v4`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function send(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
  return true;
}

function page<T>(items: T[], url: URL, perPage: number) {
  const size = Number(url.searchParams.get("per_page") ?? perPage);
  const per = Math.min(size, perPage);
  const number = Number(url.searchParams.get("page") ?? "1");
  const total = Math.max(1, Math.ceil(items.length / per));
  return {
    success: true,
    errors: [],
    result: items.slice((number - 1) * per, number * per),
    result_info: { page: number, per_page: per, total_pages: total, total_count: items.length },
  };
}

/** Answers one request (true), or leaves it unanswered (a stall). */
function handle(
  state: Omit<FakeCloudflare, "url" | "stop">,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const url = new URL(req.url ?? "/", "http://fake");
  state.requests.push(`${req.method} ${url.pathname}`);
  const failure = state.failNext.shift();
  if (failure === "stall") return false; // never answers: the client's timeout must end the request
  if (failure !== undefined)
    return send(res, failure, { success: false, errors: [{ code: 10000, message: "injected" }] });
  if (req.headers.authorization !== `Bearer ${state.token}`) {
    return send(res, 403, { success: false, errors: [{ code: 10000, message: "Authentication error" }] });
  }
  const path = url.pathname.replace(/^\/client\/v4/, "");
  let match = /^\/accounts\/([^/]+)\/cfd_tunnel$/.exec(path);
  if (match && req.method === "GET") {
    const name = url.searchParams.get("name");
    const tunnels = state.tunnels.filter(
      (t) =>
        t.account === match?.[1] &&
        (name === null || t.name === name) &&
        (url.searchParams.get("is_deleted") !== "false" || t.deleted_at === null),
    );
    return send(res, 200, page(tunnels, url, state.perPage));
  }
  if (path === "/zones" && req.method === "GET") {
    const name = url.searchParams.get("name");
    return send(
      res,
      200,
      page(
        state.zones.filter((z) => name === null || z.name === name),
        url,
        state.perPage,
      ),
    );
  }
  match = /^\/zones\/([^/]+)\/dns_records$/.exec(path);
  if (match && req.method === "GET")
    return send(res, 200, page(state.records.get(match[1] ?? "") ?? [], url, state.perPage));
  match = /^\/zones\/([^/]+)\/dns_records\/([^/]+)$/.exec(path);
  if (match && req.method === "DELETE") {
    const records = state.records.get(match[1] ?? "") ?? [];
    const index = records.findIndex((r) => r.id === match?.[2]);
    if (index < 0)
      return send(res, 404, { success: false, errors: [{ code: 81044, message: "Record does not exist." }] });
    records.splice(index, 1);
    return send(res, 200, { success: true, errors: [], result: { id: match[2] } });
  }
  return send(res, 404, { success: false, errors: [{ code: 7003, message: "No route for that URI" }] });
}

/** A token in the form cloudflared reads: base64 of {"a": account, "t": tunnel id, "s": secret}. */
export function tunnelToken(account: string, tunnel: string = randomUUID()): string {
  return Buffer.from(
    JSON.stringify({ a: account, t: tunnel, s: randomBytes(32).toString("base64") }),
  ).toString("base64");
}
