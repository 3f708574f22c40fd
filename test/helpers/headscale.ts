/**
 * A real headscale on the host loopback, for the tiers that need a Tailscale control server (the
 * hosts tier's VMs, the control-plane tier's mesh of network namespaces). No DERP relay exists: the
 * one region points at a port nothing listens on, so peers talk directly or not at all, and nothing
 * is sent off the machine. Started here, stopped by its id.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { freeTcpPort } from "../hosts/harness/net.js";

export interface HeadscaleOptions {
  /** The URL its clients use (`server_url`); default: its loopback address. */
  serverUrl?: string;
  /** Where its policy lives: a file it reads, or its database (changed through its API). */
  policy: { mode: "file"; path: string } | { mode: "database" };
  /**
   * A STUN port for the DERP node (on the clients' own loopback, where nothing answers). Without one,
   * tailscaled's netcheck has nowhere to send and reports that IPv4 cannot send, so after each check it
   * rebinds its socket and forgets every peer's direct path, the only path here, until disco finds it
   * again (the first packets after it, a WireGuard handshake among them, are lost). Default: none.
   */
  stunPort?: number;
}

export interface HeadscaleProcess {
  /** The loopback port of its API and control protocol. */
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Its debug listener on the loopback (`metrics_listen_addr`: /metrics, /debug/filter, ...). */
  debugUrl: string;
  config: string;
  log: string;
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function launchHeadscale(dir: string, options: HeadscaleOptions): Promise<HeadscaleProcess> {
  await mkdir(dir, { recursive: true });
  const [port, metrics, grpc] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const url = `http://127.0.0.1:${port}`;
  // headscale refuses an empty DERP map. This one region points at the loopback, where nothing
  // listens and no STUN runs.
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
            regionname: "No relay",
            nodes: [
              {
                name: "900a",
                regionid: 900,
                hostname: "derp.invalid",
                ipv4: "127.0.0.1",
                ipv6: "none",
                stunport: options.stunPort ?? -1,
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
      server_url: options.serverUrl ?? url,
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
      policy: options.policy,
      dns: {
        magic_dns: false,
        override_local_dns: false,
        base_domain: "tailnet.test",
        nameservers: { global: [] },
      },
      unix_socket: join(dir, "headscale.sock"),
      unix_socket_permission: "0770",
      logtail: { enabled: false },
      // the CLI's deadline for headscale's answer (5 s by default) is missed on a loaded 2-core machine
      cli: { timeout: "60s" },
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
    const done = await Promise.race([exited.then(() => "exited"), sleep(10_000).then(() => "timeout")]);
    if (done === "timeout") child.kill("SIGKILL");
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
  return { port, url, debugUrl: `http://127.0.0.1:${metrics}`, config, log, cli, stop };
}
