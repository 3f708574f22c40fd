/**
 * headscale on the loopback with its policy in the database (policy.mode: database), the mode in
 * which `infra tailnet apply` changes it through the API. No DERP relay exists (the one region
 * points at a port nothing listens on), so peers talk directly or not at all.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { exec } from "../../../src/adapters/exec.js";
import { freeTcpPort } from "../../hosts/harness/net.js";

export interface Headscale {
  /** http://127.0.0.1:<port>: the API and the control protocol. */
  url: string;
  port: number;
  log: string;
  cli(args: string[]): Promise<string>;
  createUser(name: string): Promise<number>;
  /** A reusable pre-auth key; with `tags`, headscale gives them to the devices that join with it. */
  createAuthKey(user: number, tags?: readonly string[]): Promise<string>;
  createApiKey(): Promise<string>;
  /** The stored policy text, or undefined when none was ever set. */
  policy(): Promise<string | undefined>;
  nodes(): Promise<Array<{ id: number; name: string; tags: string[]; ipv4: string }>>;
  stop(): Promise<void>;
}

export async function startHeadscale(dir: string): Promise<Headscale> {
  await mkdir(dir, { recursive: true });
  const [port, metrics, grpc] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const url = `http://127.0.0.1:${port}`;
  const derpMap = join(dir, "derp.yaml");
  await writeFile(
    derpMap,
    stringify({
      regions: new Map([
        [
          900,
          {
            regionid: 900,
            regioncode: "none",
            regionname: "No relay",
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
      server_url: url,
      listen_addr: `127.0.0.1:${port}`,
      metrics_listen_addr: `127.0.0.1:${metrics}`,
      grpc_listen_addr: `127.0.0.1:${grpc}`,
      grpc_allow_insecure: false,
      noise: { private_key_path: join(dir, "noise_private.key") },
      prefixes: { v4: "100.64.0.0/10", v6: "fd7a:115c:a1e0::/48", allocation: "sequential" },
      derp: { server: { enabled: false }, urls: [], paths: [derpMap], auto_update_enabled: false },
      disable_check_updates: true,
      database: { type: "sqlite", sqlite: { path: join(dir, "db.sqlite"), write_ahead_log: true } },
      log: { level: "info", format: "text" },
      policy: { mode: "database" },
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
  child.once("error", () => undefined);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (
      (await Promise.race([exited.then(() => "exited"), sleep(10_000).then(() => "timeout")])) === "timeout"
    )
      child.kill("SIGKILL");
  };
  const cli = async (args: string[]) =>
    (await exec("headscale", ["-c", config, ...args], { timeoutMs: 60_000 })).stdout;

  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`headscale exited with ${child.exitCode}; see ${log}`);
    const ok = await fetch(`${url}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() - started > 60_000) {
      await stop();
      throw new Error(`headscale did not answer ${url}/health within 60 s; see ${log}`);
    }
    await sleep(300);
  }

  const readKey = (
    JSON.parse(await cli(["apikeys", "create", "--expiration", "2h", "-o", "json"])) as string
  ).trim();

  return {
    url,
    port,
    log,
    cli,
    async createUser(name) {
      await cli(["users", "create", name]);
      const users = JSON.parse(await cli(["users", "list", "-o", "json"])) as Array<{
        id: number;
        name: string;
      }>;
      const user = users.find((u) => u.name === name);
      if (!user) throw new Error(`headscale did not create the user ${name}`);
      return user.id;
    },
    async createAuthKey(user, tags = []) {
      const args = [
        "preauthkeys",
        "create",
        "--user",
        String(user),
        "--reusable",
        "--expiration",
        "2h",
        "-o",
        "json",
      ];
      if (tags.length > 0) args.push("--tags", tags.join(","));
      const key = JSON.parse(await cli(args)) as { key?: string };
      if (!key.key) throw new Error("headscale returned no pre-auth key");
      return key.key;
    },
    async createApiKey() {
      return (
        JSON.parse(await cli(["apikeys", "create", "--expiration", "2h", "-o", "json"])) as string
      ).trim();
    },
    async policy() {
      // Through the API, byte for byte (the CLI adds a newline).
      const response = await fetch(`${url}/api/v1/policy`, {
        headers: { Authorization: `Bearer ${readKey}` },
      });
      const body = (await response.json()) as { policy?: string; message?: string };
      if (response.ok) return body.policy;
      if (/acl policy not found/.test(body.message ?? "")) return undefined;
      throw new Error(`headscale: ${body.message}`);
    },
    async nodes() {
      const raw = JSON.parse(await cli(["nodes", "list", "-o", "json"])) as Array<Record<string, unknown>>;
      return raw.map((n) => ({
        id: Number(n.id),
        name: String(n.given_name ?? n.name ?? ""),
        tags: Array.isArray(n.tags) ? (n.tags as string[]) : [],
        ipv4:
          (Array.isArray(n.ip_addresses) ? (n.ip_addresses as string[]) : []).find((a) => a.includes(".")) ??
          "",
      }));
    },
    stop,
  };
}
