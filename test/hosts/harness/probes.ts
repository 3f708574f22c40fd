/** Small checks run inside a VM or against it, shared by the tests and the benchmark. */
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exec } from "../../../src/adapters/exec.js";
import { guestAttempt, listenOn, stopListening } from "./guest-endpoint.js";
import type { Vm } from "./vm.js";

export type PortState = "open" | "refused" | "filtered" | "error";

/**
 * TCP connect from inside `from` to address:port: open, refused (RST) or filtered (no answer).
 * With `attempts` > 1 it tries again after a filtered answer, as a real client would: tailscaled
 * sets up an idle peer lazily, and the first SYN to it can be lost while it does.
 */
export async function tcpProbe(
  from: Vm,
  address: string,
  port: number,
  { timeoutSeconds = 5, attempts = 1 }: { timeoutSeconds?: number; attempts?: number } = {},
): Promise<PortState> {
  let state: PortState = "error";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const seen = await guestAttempt(from, "tcp", address, port, timeoutSeconds * 1000);
    state = seen === "open" || seen === "refused" ? seen : seen === "timeout" ? "filtered" : "error";
    if (state !== "filtered") break;
  }
  return state;
}

/** A TCP listener on every address of the VM, as K3s would listen: the probe endpoint in a unit of its own per port. */
export async function startListener(vm: Vm, port: number): Promise<void> {
  await listenOn(vm, { tcp: [port], udp: [] }, `probe-${port}`);
}

export async function stopListener(vm: Vm, port: number): Promise<void> {
  await stopListening(vm, `probe-${port}`);
}

/**
 * Tries an SSH password login as root with the given password (through SSH_ASKPASS, no key offered).
 * Returns the exit code and stderr: 0 means the password was accepted.
 */
export async function passwordLogin(
  vm: Vm,
  password: string,
  dir: string,
): Promise<{ exitCode: number; stderr: string }> {
  const askpass = join(dir, "askpass.sh");
  await writeFile(askpass, '#!/bin/sh\nprintf "%s\\n" "$INFRA_TEST_PASSWORD"\n');
  await chmod(askpass, 0o700);
  const result = await exec(
    "ssh",
    [
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "PubkeyAuthentication=no",
      "-o",
      "PreferredAuthentications=password,keyboard-interactive",
      "-o",
      "NumberOfPasswordPrompts=1",
      "-o",
      "ConnectTimeout=15",
      "-o",
      "IdentitiesOnly=yes",
      "-p",
      String(vm.spec.sshPort),
      "root@127.0.0.1",
      "true",
    ],
    {
      check: false,
      timeoutMs: 60_000,
      input: "",
      env: {
        ...process.env,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: "force",
        DISPLAY: ":0",
        INFRA_TEST_PASSWORD: password,
      },
    },
  );
  return { exitCode: result.exitCode, stderr: result.stderr };
}

/** `sshd -T` as a map of lower-case keyword -> value (first value). */
export async function sshdEffective(vm: Vm): Promise<Record<string, string>> {
  const out = (await vm.ssh("sshd -T")).stdout;
  const map: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const [key, ...rest] = line.trim().split(" ");
    if (key && !(key in map)) map[key] = rest.join(" ");
  }
  return map;
}

export interface TailscaleStatus {
  BackendState: string;
  Self: { HostName: string; TailscaleIPs: string[] };
  Peer?: Record<
    string,
    { HostName: string; TailscaleIPs: string[]; Online: boolean; CurAddr: string; Relay: string }
  >;
}

export async function tailscaleStatus(vm: Vm): Promise<TailscaleStatus> {
  return JSON.parse((await vm.ssh("tailscale status --json")).stdout) as TailscaleStatus;
}

export async function tailscaleIp4(vm: Vm): Promise<string> {
  return (await vm.ssh("tailscale ip -4")).stdout.trim();
}

/**
 * What a run could change on a host, as text to compare before and after: packages, the files under /etc
 * and /usr/local (path, mode, size, mtime; enabled and masked units are symlinks there), loaded modules,
 * swap and network links. A dry run or a refused run must leave it as it was.
 */
export async function hostState(vm: Vm): Promise<string> {
  const script = [
    "echo '## packages'; dpkg -l | awk '/^[a-z][a-z] / {print $1, $2, $3}' | sort",
    "echo '## files'; find /etc /usr/local -xdev -printf '%p %m %s %T@\\n' 2>/dev/null | sort",
    "echo '## modules'; cut -d' ' -f1 /proc/modules | sort",
    "echo '## swap'; swapon --show=NAME --noheadings",
    "echo '## links'; ip -o link | cut -d: -f2 | sort",
  ].join("; ");
  return (await vm.ssh(script, { timeoutMs: 120_000 })).stdout;
}

/** The lines that differ between two hostState texts (for a failure message). */
export function stateDiff(before: string, after: string): string[] {
  const a = new Set(before.split("\n"));
  const b = new Set(after.split("\n"));
  return [
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`),
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`),
  ].slice(0, 40);
}
