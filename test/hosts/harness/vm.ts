/**
 * One VM under QEMU software emulation (TCG): a copy-on-write disk over the cached image,
 * SSH forwarded to a loopback port, and two network cards:
 *   eth0  QEMU user networking with `restrict=on`: the guest reaches nothing but the host services
 *         it is given through `guestfwd` (the apt proxy and headscale, both on the host loopback);
 *   eth1  the private link, a tap on a bridge in a network namespace (link.ts) — it plays the public
 *         internet between the VPSs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ExecResult, exec } from "../../../src/adapters/exec.js";
import { APT_PROXY_GUEST_PORT, HEADSCALE_GUEST_PORT, HOST_SERVICES_IP, type VmImage } from "./image.js";

export interface VmSpec {
  name: string;
  /** Address on the private link, e.g. 203.0.113.11 (a /24 is assumed). */
  linkIp: string;
  /** The tap device (link.ts) the private link's card opens. */
  linkTap: string;
  sshPort: number;
  /** Host loopback ports the guest reaches through guestfwd. */
  aptProxyPort: number;
  headscalePort: number;
  /** Index used to make the MAC addresses unique. */
  index: number;
}

export interface VmOptions {
  image: VmImage;
  dir: string;
  sshKey: string;
  sshPublicKey: string;
  rootPasswordHash: string;
  memoryMiB?: number;
  cpus?: number;
}

const SSH_OPTIONS = [
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
  "-o",
  "ConnectTimeout=10",
  "-o",
  "ServerAliveInterval=5",
  "-o",
  "ServerAliveCountMax=3",
];

/** Every QEMU this process started: killed when the process exits, whatever the path out. */
const running = new Set<ChildProcess>();
const killAll = () => {
  for (const child of running) child.kill("SIGKILL");
};
process.once("exit", killAll);
// A test run stopped from outside (Ctrl-C, a CI timeout) must not leave emulators behind.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(code);
  });
}

export class Vm {
  readonly consoleLog: string;
  readonly monitorSocket: string;
  private process: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private qemuOutput = "";

  constructor(
    readonly spec: VmSpec,
    private readonly options: VmOptions,
  ) {
    this.consoleLog = join(options.dir, `${spec.name}.console.log`);
    this.monitorSocket = join(options.dir, `${spec.name}.monitor.sock`);
  }

  get name(): string {
    return this.spec.name;
  }

  async start(): Promise<void> {
    const { image, dir } = this.options;
    const { spec } = this;
    const overlay = join(dir, `${spec.name}.qcow2`);
    await exec("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", image.disk, overlay]);
    const cmdline = [
      "root=/dev/vda",
      "rw",
      "console=ttyS0",
      "net.ifnames=0",
      "panic=10",
      `infra.hostname=${spec.name}`,
      `infra.ssh_key=${Buffer.from(this.options.sshPublicKey.trim()).toString("base64")}`,
      `infra.root_pw=${Buffer.from(this.options.rootPasswordHash.trim()).toString("base64")}`,
      `infra.link_ip=${spec.linkIp}/24`,
    ].join(" ");
    const relay = (port: number) => `cmd:socat STDIO TCP:127.0.0.1:${port}`;
    const user = [
      "user,id=net0,restrict=on",
      // Each VM its own NAT address, as VPSs have: with the same 10.0.2.15 in both, each would list
      // the other's Tailscale endpoint 10.0.2.15:41641, which is its own.
      `dhcpstart=10.0.2.${15 + spec.index}`,
      `hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
      `guestfwd=tcp:${HOST_SERVICES_IP}:${APT_PROXY_GUEST_PORT}-${relay(spec.aptProxyPort)}`,
      `guestfwd=tcp:${HOST_SERVICES_IP}:${HEADSCALE_GUEST_PORT}-${relay(spec.headscalePort)}`,
    ].join(",");
    const link = `tap,id=net1,ifname=${spec.linkTap},script=no,downscript=no`;
    const mac = (nic: number) =>
      `52:54:00:00:${nic.toString(16).padStart(2, "0")}:${(spec.index + 1).toString(16).padStart(2, "0")}`;
    const args = [
      "-accel",
      "tcg",
      "-machine",
      "pc",
      "-smp",
      String(this.options.cpus ?? 1),
      "-m",
      String(this.options.memoryMiB ?? 1536),
      "-kernel",
      image.kernel,
      "-initrd",
      image.initrd,
      "-append",
      cmdline,
      "-drive",
      `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
      "-netdev",
      user,
      "-device",
      `virtio-net-pci,netdev=net0,mac=${mac(0)}`,
      "-netdev",
      link,
      "-device",
      `virtio-net-pci,netdev=net1,mac=${mac(1)}`,
      "-device",
      "virtio-rng-pci",
      "-serial",
      `file:${this.consoleLog}`,
      "-monitor",
      `unix:${this.monitorSocket},server=on,wait=off`,
      "-display",
      "none",
      "-nodefaults",
    ];
    const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    const qemuLog = createWriteStream(join(dir, `${spec.name}.qemu.log`));
    const keep = (chunk: Buffer) => {
      this.qemuOutput += chunk.toString("utf8");
      qemuLog.write(chunk);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.process = child;
    running.add(child);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code) => {
        running.delete(child);
        qemuLog.end();
        resolve(code);
      });
      child.once("error", (error) => {
        this.qemuOutput += String(error);
        resolve(-1);
      });
    });
  }

  /** Waits until SSH answers with the injected key; fails early when QEMU exits. */
  async waitForSsh(timeoutMs = 240_000): Promise<number> {
    const started = Date.now();
    let last = "";
    while (Date.now() - started < timeoutMs) {
      if (this.process?.exitCode !== null && this.process?.exitCode !== undefined) {
        throw new Error(`${this.name}: QEMU exited with ${this.process.exitCode}: ${this.qemuOutput.trim()}`);
      }
      const result = await this.ssh("true", { check: false, timeoutMs: 20_000 }).catch((e: unknown) => ({
        exitCode: 255,
        stderr: String(e),
      }));
      if (result.exitCode === 0) return (Date.now() - started) / 1000;
      last = result.stderr.trim();
      await sleep(2000);
    }
    const console = await readFile(this.consoleLog, "utf8").catch(() => "");
    throw new Error(
      `${this.name}: SSH on 127.0.0.1:${this.spec.sshPort} did not answer within ${timeoutMs / 1000}s (last: ${last}); console tail:\n${console.split("\n").slice(-20).join("\n")}`,
    );
  }

  /** Runs a shell command in the guest as root over SSH (the forwarded loopback port). */
  ssh(
    command: string,
    options: { check?: boolean; timeoutMs?: number; input?: string } = {},
  ): Promise<ExecResult> {
    return exec(
      "ssh",
      [
        ...SSH_OPTIONS,
        ...this.multiplexing(),
        "-o",
        "BatchMode=yes",
        "-i",
        this.options.sshKey,
        "-p",
        String(this.spec.sshPort),
        "root@127.0.0.1",
        command,
      ],
      { check: options.check ?? true, timeoutMs: options.timeoutMs ?? 120_000, input: options.input },
    );
  }

  /** Sends one human-monitor command (e.g. `stop`, `cont`) and returns its reply. */
  async monitor(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.monitorSocket);
      let reply = "";
      socket.on("data", (chunk) => {
        reply += chunk.toString("utf8");
        if (reply.includes("(qemu)") && reply.split("(qemu)").length > 2) socket.end();
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(reply));
      socket.on("connect", () => socket.write(`${command}\n`));
      setTimeout(() => socket.end(), 3000);
    });
  }

  /** Connects or disconnects a network card (net0: user networking with the SSH forward; net1: the link). */
  async setLink(netdev: "net0" | "net1", up: boolean): Promise<void> {
    await this.monitor(`set_link ${netdev} ${up ? "on" : "off"}`);
  }

  /** Freezes the guest's CPUs: the host becomes unreachable without losing its state. */
  async pause(): Promise<void> {
    await this.monitor("stop");
  }

  async resume(): Promise<void> {
    await this.monitor("cont");
  }

  /** Stops QEMU (TERM, then KILL); safe to call twice. */
  /**
   * One SSH connection per VM, shared by the harness's commands: a handshake costs seconds under
   * emulation. A cut link kills the master within ServerAliveInterval x ServerAliveCountMax.
   */
  private multiplexing(): string[] {
    const path = join(this.options.dir, `${this.spec.name}.ssh.sock`);
    return ["-o", "ControlMaster=auto", "-o", `ControlPath=${path}`, "-o", "ControlPersist=30"];
  }

  async stop(): Promise<void> {
    await exec("ssh", [...this.multiplexing(), "-O", "exit", "root@127.0.0.1"], {
      check: false,
      timeoutMs: 10_000,
    }).catch(() => undefined);
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const done = await Promise.race([this.exited, sleep(10_000).then(() => "timeout" as const)]);
    if (done === "timeout") {
      child.kill("SIGKILL");
      await this.exited;
    }
  }
}
