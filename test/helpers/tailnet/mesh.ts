/**
 * A real Tailscale mesh without VMs: one network namespace per member (this test creates them and
 * deletes them, nothing in the host's own namespace changes), each running a real `tailscaled`
 * with a kernel TUN device, all joined by a bridge in a namespace of their own (the members' "public
 * internet", TEST-NET-3 addresses) or by a bridge the caller already has (the hosts tier's link, where
 * its VMs are). headscale runs on the host's loopback; a member reaches it at the control address in
 * its namespace through a unix socket relay (namespaces share the file system, not the loopback). Every
 * process is started here and stopped by its id.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { exec } from "../../../src/adapters/exec.js";
import type { Peer } from "./probes.js";

const ENDPOINT = new URL("./endpoint.mjs", import.meta.url).pathname;

export interface MemberSpec {
  name: string;
  /** The pre-auth key it joins with (its tags, if any, come from the key). */
  authKey: string;
}

export interface Member extends Peer {
  namespace: string;
  /** Its address on the bridge ("public" address, for WireGuard). */
  linkIp: string;
  /** Runs a program inside the member's namespace. */
  run(command: string, args: string[], options?: { check?: boolean; timeoutMs?: number }): Promise<string>;
  log: string;
}

export interface MeshOptions {
  /** A bridge `br0` in this network namespace joins the members (default: one of the mesh's own). */
  link?: string;
  /** The members' addresses on it: 203.0.113.<firstHost + index>. Default 11. */
  firstHost?: number;
  /** The control server's address and port inside each member's namespace. Default 127.0.0.1:8080. */
  control?: { address: string; port: number };
}

export interface Mesh {
  members: Member[];
  member(name: string): Member;
  stop(): Promise<void>;
}

export async function startMesh(
  dir: string,
  headscalePort: number,
  specs: readonly MemberSpec[],
  listen: { tcp: number[]; udp: number[] },
  options: MeshOptions = {},
): Promise<Mesh> {
  const id = randomBytes(3).toString("hex");
  const prefix = `infra-mesh-${id}`;
  const link = options.link ?? `${prefix}-link`;
  const control = options.control ?? { address: "127.0.0.1", port: 8080 };
  const children: ChildProcess[] = [];
  const namespaces: string[] = [];
  let relay: Server | undefined;
  const relaySocket = join(dir, "control.sock");

  const ip = (args: string[]) => exec("ip", args, { timeoutMs: 30_000 });
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        child.kill("SIGTERM");
        const gone = await Promise.race([
          new Promise((r) => child.once("exit", () => r(true))),
          sleep(5_000).then(() => false),
        ]);
        if (!gone) child.kill("SIGKILL");
      }
    }
    relay?.close();
    for (const namespace of namespaces.reverse())
      await exec("ip", ["netns", "del", namespace], { check: false });
    await rm(relaySocket, { force: true });
  };
  const background = (namespace: string, command: string, args: string[], logFile: string): ChildProcess => {
    const child = spawn("ip", ["netns", "exec", namespace, command, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = createWriteStream(logFile, { flags: "a" });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.once("error", () => undefined);
    children.push(child);
    return child;
  };

  try {
    await mkdir(dir, { recursive: true });
    // The relay: a unix socket in the test's directory, forwarded to headscale on the loopback.
    await rm(relaySocket, { force: true });
    relay = createServer((client) => {
      const upstream = connect(headscalePort, "127.0.0.1");
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close);
      upstream.on("error", close);
    });
    await new Promise<void>((resolve) => relay?.listen(relaySocket, resolve));

    if (!options.link) {
      await ip(["netns", "add", link]);
      namespaces.push(link);
      await ip(["-n", link, "link", "add", "br0", "type", "bridge"]);
      await ip(["-n", link, "link", "set", "br0", "up"]);
    }

    const members: Member[] = [];
    for (const [index, spec] of specs.entries()) {
      const namespace = `${prefix}-${spec.name}`;
      const linkIp = `203.0.113.${(options.firstHost ?? 11) + index}`;
      await ip(["netns", "add", namespace]);
      namespaces.push(namespace);
      // veth names are at most 15 characters: the test's id and the member's index.
      await ip([
        "link",
        "add",
        `m${id}${index}`,
        "netns",
        namespace,
        "type",
        "veth",
        "peer",
        "name",
        `b${id}${index}`,
        "netns",
        link,
      ]);
      await ip(["-n", link, "link", "set", `b${id}${index}`, "master", "br0", "up"]);
      await ip(["-n", namespace, "link", "set", "lo", "up"]);
      if (control.address !== "127.0.0.1")
        await ip(["-n", namespace, "addr", "add", `${control.address}/32`, "dev", "lo"]);
      await ip(["-n", namespace, "addr", "add", `${linkIp}/24`, "dev", `m${id}${index}`]);
      await ip(["-n", namespace, "link", "set", `m${id}${index}`, "up"]);

      const home = join(dir, spec.name);
      await mkdir(home, { recursive: true });
      const log = join(home, "tailscaled.log");
      const socket = join(home, "tailscaled.sock");
      background(
        namespace,
        "socat",
        [`TCP-LISTEN:${control.port},bind=${control.address},fork,reuseaddr`, `UNIX-CONNECT:${relaySocket}`],
        join(home, "relay.log"),
      );
      background(
        namespace,
        "tailscaled",
        [
          `--state=${join(home, "tailscaled.state")}`,
          `--statedir=${home}`,
          `--socket=${socket}`,
          "--tun=tailscale0",
          "--port=41641",
          "--no-logs-no-support",
        ],
        log,
      );
      background(
        namespace,
        process.execPath,
        [ENDPOINT, "listen", listen.tcp.join(","), listen.udp.join(",")],
        join(home, "endpoint.log"),
      );
      const run: Member["run"] = async (command, args, options = {}) =>
        (
          await exec("ip", ["netns", "exec", namespace, command, ...args], {
            check: options.check ?? true,
            timeoutMs: options.timeoutMs ?? 60_000,
          })
        ).stdout;
      const tailscale: Member["tailscale"] = (args, options) =>
        run("tailscale", [`--socket=${socket}`, ...args], options);
      const attempt: Member["attempt"] = (proto, address, port, timeoutMs) =>
        run(process.execPath, [ENDPOINT, "probe", proto, address, String(port), String(timeoutMs)]);
      members.push({ name: spec.name, namespace, linkIp, tailnetIp: "", run, tailscale, attempt, log });
    }

    // Join, one at a time (headscale gives addresses in order), once each tailscaled answers.
    for (const [index, member] of members.entries()) {
      const spec = specs[index] as MemberSpec;
      const deadline = Date.now() + 30_000;
      while ((await member.tailscale(["status", "--json"], { check: false }).catch(() => "")) === "") {
        if (Date.now() > deadline)
          throw new Error(`${member.name}: tailscaled did not start; see ${member.log}`);
        await sleep(300);
      }
      await member.tailscale([
        "up",
        `--login-server=http://${control.address}:${control.port}`,
        `--auth-key=${spec.authKey}`,
        `--hostname=${member.name}`,
        // Never touch the host's resolver (namespaces share /etc); no firewall rules in the namespace.
        "--accept-dns=false",
        "--netfilter-mode=off",
        "--timeout=60s",
      ]);
      member.tailnetIp = (await member.tailscale(["ip", "-4"])).trim();
    }
    return {
      members,
      member(name) {
        const found = members.find((m) => m.name === name);
        if (!found) throw new Error(`no mesh member ${name}`);
        return found;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
