/**
 * A local headscale as the Tailscale control server: listens on the host loopback only; the VMs
 * reach it as http://10.0.2.100:8080 through QEMU's guestfwd. No DERP map (nothing may leave the
 * machine), so the nodes must connect directly over the private link, UDP 41641 — which is what the
 * firewall is meant to allow.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { exec } from "../../../src/adapters/exec.js";
import { HEADSCALE_GUEST_PORT, HOST_SERVICES_IP } from "./image.js";
import { freeTcpPort } from "./net.js";

export const HEADSCALE_USER = "infra";

export interface Headscale {
  /** The loopback port the guestfwd relays to. */
  port: number;
  /** The URL the VMs use (`tailscale_login_server`). */
  serverUrl: string;
  config: string;
  log: string;
  cli(args: string[]): Promise<string>;
  /** A reusable pre-auth key carrying the cluster's tags; `expiration` is a headscale duration (default 2h). */
  createAuthKey(expiration?: string): Promise<string>;
  /** An API key (what the preflight uses to ask headscale about the auth key). */
  createApiKey(): Promise<string>;
  nodes(): Promise<
    Array<{ name: string; givenName?: string; ipAddresses: string[]; online?: boolean; tags?: string[] }>
  >;
  stop(): Promise<void>;
}

export async function startHeadscale(dir: string, tags: readonly string[]): Promise<Headscale> {
  await mkdir(dir, { recursive: true });
  const [port, metrics, grpc] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const serverUrl = `http://${HOST_SERVICES_IP}:${HEADSCALE_GUEST_PORT}`;
  const policy = join(dir, "policy.json");
  const owner = `${HEADSCALE_USER}@`;
  await writeFile(
    policy,
    `${JSON.stringify(
      {
        tagOwners: Object.fromEntries(tags.map((t) => [t, [owner]])),
        acls: [{ action: "accept", src: ["*"], dst: ["*:*"] }],
      },
      null,
      2,
    )}\n`,
  );
  // headscale refuses an empty DERP map. This one region points at the guest's own loopback, where
  // nothing listens and no STUN runs: no relay exists, and nothing is sent off the machine.
  const derpMap = join(dir, "derp.yaml");
  await writeFile(
    derpMap,
    // A Map keeps the region id an integer key (`900:`); an object key would be quoted ("900"),
    // which headscale's YAML decoder refuses for its map[int] of regions.
    stringify({
      regions: new Map([
        [
          900,
          {
            regionid: 900,
            regioncode: "none",
            regionname: "No relay (host tier)",
            nodes: [
              {
                name: "900a",
                regionid: 900,
                hostname: "derp.invalid",
                ipv4: "127.0.0.1",
                ipv6: "none",
                stunport: -1,
                stunonly: false,
                derpport: 9,
              },
            ],
          },
        ],
      ]),
    }),
  );
  const config = join(dir, "config.yaml");
  await writeFile(
    config,
    stringify({
      server_url: serverUrl,
      listen_addr: `127.0.0.1:${port}`,
      metrics_listen_addr: `127.0.0.1:${metrics}`,
      grpc_listen_addr: `127.0.0.1:${grpc}`,
      grpc_allow_insecure: false,
      noise: { private_key_path: join(dir, "noise_private.key") },
      prefixes: { v4: "100.64.0.0/10", v6: "fd7a:115c:a1e0::/48", allocation: "sequential" },
      derp: {
        server: { enabled: false },
        urls: [],
        paths: [derpMap],
        auto_update_enabled: false,
      },
      disable_check_updates: true,
      database: { type: "sqlite", sqlite: { path: join(dir, "db.sqlite"), write_ahead_log: true } },
      log: { level: "info", format: "text" },
      policy: { mode: "file", path: policy },
      dns: {
        magic_dns: false,
        override_local_dns: false,
        base_domain: "tailnet.test",
        nameservers: { global: [] },
      },
      unix_socket: join(dir, "headscale.sock"),
      unix_socket_permission: "0770",
      logtail: { enabled: false },
    }),
  );
  const log = join(dir, "headscale.log");
  const out = createWriteStream(log);
  const child: ChildProcess = spawn("headscale", ["serve", "-c", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("error", () => undefined);

  const cli = async (args: string[]) =>
    (await exec("headscale", ["-c", config, ...args], { timeoutMs: 60_000 })).stdout;
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const done = await Promise.race([exited.then(() => "exited"), sleep(10_000).then(() => "timeout")]);
    if (done === "timeout") child.kill("SIGKILL");
  };

  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`headscale exited with ${child.exitCode}; see ${log}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() - started > 60_000) {
      await stop();
      throw new Error(`headscale did not answer /health on 127.0.0.1:${port} within 60s; see ${log}`);
    }
    await sleep(300);
  }
  await cli(["users", "create", HEADSCALE_USER]);

  return {
    port,
    serverUrl,
    config,
    log,
    cli,
    async createApiKey() {
      const key = (await cli(["apikeys", "create", "--expiration", "2h"])).trim().split("\n").pop() ?? "";
      if (!key.startsWith("hskey-api-")) throw new Error(`headscale returned no API key: ${key}`);
      return key;
    },
    async createAuthKey(expiration = "2h") {
      const users = JSON.parse(await cli(["users", "list", "-o", "json"])) as Array<{
        id: number | string;
        name: string;
      }>;
      const user = users.find((u) => u.name === HEADSCALE_USER);
      if (!user) throw new Error(`headscale has no user ${HEADSCALE_USER}`);
      const key = JSON.parse(
        await cli([
          "preauthkeys",
          "create",
          "--user",
          String(user.id),
          "--reusable",
          // headscale gives a node the tags of its pre-auth key (it refuses tags the node requests).
          "--tags",
          tags.join(","),
          "--expiration",
          expiration,
          "-o",
          "json",
        ]),
      ) as { key?: string };
      if (!key.key) throw new Error("headscale returned no pre-auth key");
      return key.key;
    },
    async nodes() {
      const raw = JSON.parse(await cli(["nodes", "list", "-o", "json"])) as Array<Record<string, unknown>>;
      return raw.map((n) => ({
        name: String(n.name ?? ""),
        givenName: typeof n.given_name === "string" ? n.given_name : undefined,
        ipAddresses: Array.isArray(n.ip_addresses) ? (n.ip_addresses as string[]) : [],
        online: typeof n.online === "boolean" ? n.online : undefined,
        tags: Array.isArray(n.tags) ? (n.tags as string[]) : undefined,
      }));
    },
    stop,
  };
}
