/**
 * The flannel watchdog (ansible/roles/flannel_watchdog/files/k3s-flannel-watchdog), run as it is
 * shipped, in a network namespace this test creates, against the control-plane tier's real API server:
 *
 * - tailscale0 is a real TUN device held by a process that stands in for tailscaled (socat; stopping it
 *   removes the device, as stopping tailscaled does);
 * - flannel.1 is a real VXLAN device on top of tailscale0 with real onlink routes to the other nodes'
 *   pod CIDRs, set up by a "K3s stand-in" the way flannel's VXLAN backend does when K3s starts. When
 *   the tailscaled stand-in stops, the kernel deletes flannel.1 and its routes with their lower device:
 *   the failure of k3s-io/k3s#14142 happens here for real;
 * - the watchdog reads the nodes' pod CIDRs and writes its report (annotation) on node-a as the user
 *   system:k3s-controller (the identity K3s agents give flannel), holding only the RBAC granted here:
 *   get/list nodes, patch nodes; through a relay from the namespace's loopback to the API server on the
 *   host's loopback (a unix socket; no other traffic). That the real K3s role grants it is for a real
 *   cluster to prove (docs/testing.md);
 * - "restart K3s" is the K3s stand-in's command: it logs the restart and brings flannel.1 back.
 *
 * systemd (the timer, the unit, a real restart of a unit) is proven on the hosts tier's VMs.
 * Needs root (ip netns) and socat.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import { statusCommand } from "../../src/dr/status.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { type ControlPlane, startControlPlane } from "./harness.js";

const SCRIPT = join(PACKAGE_ROOT, "ansible", "roles", "flannel_watchdog", "files", "k3s-flannel-watchdog");
const NODES = { "node-a": "10.42.1.0/24", "node-b": "10.42.2.0/24", "node-c": "10.42.3.0/24" } as const;
const PEERS = ["node-b", "node-c"] as const;

let plane: ControlPlane;
let dir: string;
const ns = `infra-fw-${randomBytes(3).toString("hex")}`;
let nsCreated = false;
const processes = new Map<string, ChildProcess>();

async function inNs(command: string, check = true) {
  return exec("ip", ["netns", "exec", ns, "sh", "-c", command], { check });
}

function start(name: string, command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.once("exit", (code) => {
    if (processes.get(name) === child && code !== 0 && code !== null) {
      process.stderr.write(`${name} exited ${code}: ${stderr}\n`);
    }
  });
  processes.set(name, child);
  return child;
}

async function stop(name: string): Promise<void> {
  const child = processes.get(name);
  processes.delete(name);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** tailscaled stand-in: holds the TUN device tailscale0 (with carrier) while it runs. */
async function startTailscaled(): Promise<void> {
  start("tailscaled", "ip", [
    "netns",
    "exec",
    ns,
    "socat",
    "-u",
    "TUN:100.64.0.1/32,tun-name=tailscale0,tun-type=tun,iff-up,iff-no-pi",
    "OPEN:/dev/null",
  ]);
  await until("tailscale0 with carrier", async () =>
    (await inNs("ip -o link show dev tailscale0")).stdout.includes("LOWER_UP"),
  );
}

/** What flannel's VXLAN backend sets up when K3s starts: flannel.1 on tailscale0, a route per peer. */
function flannelUpScript(): string {
  return [
    "ip link add flannel.1 type vxlan id 1 local 100.64.0.1 dev tailscale0 dstport 8472 nolearning",
    `ip addr add ${NODES["node-a"].replace("/24", "/32")} dev flannel.1`,
    "ip link set flannel.1 up",
    ...PEERS.map((p) => `ip route add ${NODES[p]} via ${NODES[p].replace("/24", "")} dev flannel.1 onlink`),
  ].join(" && ");
}

async function routes(): Promise<string> {
  return (await inNs("ip route show dev flannel.1 2>&1 || true")).stdout;
}

interface Run {
  code: number;
  out: string;
}

/** One run of the watchdog in the namespace, as the systemd unit runs it (its environment only). */
async function watchdog(env: Record<string, string | number> = {}): Promise<Run> {
  const vars = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    NODE_NAME: "node-a",
    K3S_SERVICE: "k3s",
    KUBECTL: "kubectl",
    KUBECONFIG: join(dir, "node-a.kubeconfig"),
    STATE_DIR: join(dir, "state"),
    GRACE_SECONDS: 0,
    MIN_RESTART_INTERVAL: 600,
    MAX_RESTARTS_PER_DAY: 4,
    REPORT_EVERY: 0,
    RESTART_COMMAND: `sh ${join(dir, "k3s-restart-stand-in")}`,
    ...env,
  };
  const args = [
    "netns",
    "exec",
    ns,
    "env",
    "-i",
    ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    "sh",
    SCRIPT,
  ];
  const result = await exec("ip", args, { check: false });
  return { code: result.exitCode, out: (result.stdout + result.stderr).trim() };
}

async function restarts(): Promise<number> {
  const text = await readFile(join(dir, "restarts.log"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

interface Report {
  status: string;
  reason: string;
  message: string;
  checkedAt: string;
  since: string;
}

/** What the watchdog wrote on the node (annotation infra-k3s.io/flannel-routes), read as admin. */
async function condition(node = "node-a"): Promise<Report | undefined> {
  const json = JSON.parse(await plane.kubectl(["get", "node", node, "-o", "json"])) as {
    metadata: { annotations?: Record<string, string> };
  };
  const raw = json.metadata.annotations?.["infra-k3s.io/flannel-routes"];
  return raw === undefined ? undefined : (JSON.parse(raw) as Report);
}

beforeAll(async () => {
  plane = await startControlPlane({ velero: false });
  dir = await mkdtemp(join(tmpdir(), "infra-fw-"));
  for (const [name, cidr] of Object.entries(NODES)) {
    await plane.apply({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: { podCIDR: cidr } });
  }
  // flannel's identity on a K3s agent, with just what the watchdog needs
  await plane.apply({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "flannel-watchdog-test" },
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "flannel-watchdog-test" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "flannel-watchdog-test",
        },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:k3s-controller" }],
      },
    ],
  });
  const nodeConfig = await plane.userKubeconfig("system:k3s-controller");
  await writeFile(
    join(dir, "node-a.kubeconfig"),
    (await readFile(nodeConfig, "utf8")).replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      "server: https://127.0.0.1:6443",
    ),
  );
  // K3s stand-in's restart: log it, then flannel comes back as it does when K3s starts
  await writeFile(
    join(dir, "k3s-restart-stand-in"),
    `#!/bin/sh\ndate +%s >>${join(dir, "restarts.log")}\n${flannelUpScript()}\n`,
  );
  await chmod(join(dir, "k3s-restart-stand-in"), 0o755);

  await exec("ip", ["netns", "add", ns]);
  nsCreated = true;
  await inNs("ip link set lo up");
  const apiPort = new URL(plane.server).port;
  const socket = join(dir, "api.sock");
  start("relay-host", "socat", [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${apiPort}`]);
  await until(
    "the relay socket",
    async () => (await exec("test", ["-S", socket], { check: false })).exitCode === 0,
  );
  start("relay-ns", "ip", [
    "netns",
    "exec",
    ns,
    "socat",
    "TCP-LISTEN:6443,bind=127.0.0.1,reuseaddr,fork",
    `UNIX-CONNECT:${socket}`,
  ]);
  await until("the API from inside the namespace", async () =>
    (
      await inNs(`kubectl --kubeconfig ${join(dir, "node-a.kubeconfig")} get node node-a -o name`)
    ).stdout.includes("node/node-a"),
  );
  await startTailscaled();
  await inNs(flannelUpScript());
}, 600_000);

afterAll(async () => {
  for (const name of [...processes.keys()].reverse()) await stop(name);
  if (nsCreated) await exec("ip", ["netns", "del", ns], { check: false });
  await plane?.stop(false);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("flannel watchdog in a network namespace", () => {
  it("routes in place: no restart; reports RoutesPresent on its Node", async () => {
    const run = await watchdog();
    expect(run).toEqual({ code: 0, out: "" });
    expect(await restarts()).toBe(0);
    expect(await condition()).toMatchObject({
      status: "True",
      reason: "RoutesPresent",
      message: "every other node's pod CIDR is routed over flannel.1",
    });
    const report = await condition();
    expect(Date.now() - Date.parse(report?.checkedAt ?? "")).toBeLessThan(120_000);
    expect(await condition("node-b")).toBeUndefined();
  });

  it("tailscaled restarts: while tailscale0 is gone it waits; once it is back without flannel.1 it restarts K3s after the grace period", async () => {
    await stop("tailscaled");
    // the kernel removed flannel.1 and its routes together with tailscale0
    expect((await inNs("ip -o link show dev flannel.1", false)).exitCode).not.toBe(0);
    const down = await watchdog();
    expect(down.out).toBe(
      "tailscale0 is down or missing: waiting for tailscaled (restarting k3s would not help)",
    );
    expect(await condition()).toMatchObject({ status: "Unknown", reason: "TailscaleDown" });

    await startTailscaled();
    const early = await watchdog({ GRACE_SECONDS: 3600 });
    expect(early.out).toMatch(
      /^flannel\.1 is missing while tailscale0 is up; seen for \d+s, restarting k3s once it lasts 3600s$/,
    );
    expect(await restarts()).toBe(0);
    expect(await condition()).toMatchObject({ status: "False", reason: "InterfaceMissing" });

    const acted = await watchdog();
    expect(acted).toEqual({
      code: 0,
      out: "flannel.1 is missing while tailscale0 is up; restarting k3s (restart 1 in 24 h)",
    });
    expect(await restarts()).toBe(1);
    expect(await routes()).toMatch(
      /10\.42\.2\.0\/24 via 10\.42\.2\.0 onlink *\n10\.42\.3\.0\/24 via 10\.42\.3\.0 onlink/,
    );
    expect(await watchdog()).toEqual({ code: 0, out: "" });
    expect(await condition()).toMatchObject({ status: "True", reason: "RoutesPresent" });
  });

  it("infra status shows what each node reported", async () => {
    const result = await statusCommand(
      { ...plane.context(), env: { ...plane.context().env, KUBECONFIG: plane.kubeconfig } },
      {},
    );
    expect(result.data.health.mesh.map((m) => [m.node, m.state])).toEqual([
      ["node-a", "ok"],
      ["node-b", "not-reported"],
      ["node-c", "not-reported"],
    ]);
    expect(result.human(result.data)).toMatch(
      /Flannel routes over tailscale0 \(reported by each node's watchdog\):\n {2}node-a: ok — every other node's pod CIDR is routed over flannel\.1\n {2}node-b: not-reported/,
    );
  });

  it("a route gone: named with its node; restarts are rate-limited per interval and per day", async () => {
    await inNs("ip route del 10.42.3.0/24 dev flannel.1");
    const limited = await watchdog();
    expect(limited.out).toMatch(
      /^no route over flannel\.1 to 10\.42\.3\.0\/24 \(node-c\); not restarting k3s: rate-limited \(last restart \d+s ago, at most one per 600s\)$/,
    );
    expect(await restarts()).toBe(1);
    expect(await condition()).toMatchObject({
      status: "False",
      reason: "RoutesMissing",
      message: "no route over flannel.1 to 10.42.3.0/24 (node-c); restart rate-limited",
    });
    const status = await statusCommand(
      { ...plane.context(), env: { ...plane.context().env, KUBECONFIG: plane.kubeconfig } },
      {},
    );
    expect(status.data.health.mesh[0]).toMatchObject({ node: "node-a", state: "missing-routes" });

    // a shorter interval: the second restart of the day happens (and brings the route back) ...
    await inNs("ip link del flannel.1");
    const second = await watchdog({ MIN_RESTART_INTERVAL: 0, MAX_RESTARTS_PER_DAY: 2 });
    expect(second.out).toBe(
      "flannel.1 is missing while tailscale0 is up; restarting k3s (restart 2 in 24 h)",
    );
    expect(await restarts()).toBe(2);
    // ... the third is refused by the daily limit
    await inNs("ip route del 10.42.2.0/24 dev flannel.1");
    const third = await watchdog({ MIN_RESTART_INTERVAL: 0, MAX_RESTARTS_PER_DAY: 2 });
    expect(third.out).toBe(
      "no route over flannel.1 to 10.42.2.0/24 (node-b); not restarting k3s: rate-limited (2 restarts in the last 24 h, at most 2)",
    );
    expect(await restarts()).toBe(2);
  });

  it("the API does not answer: the last known pod CIDRs are checked, the report failure is logged", async () => {
    await stop("relay-ns");
    const run = await watchdog({ MIN_RESTART_INTERVAL: 0, MAX_RESTARTS_PER_DAY: 2 });
    const lines = run.out.split("\n");
    expect(lines[0]).toMatch(/^the API did not answer \(.*\); checking the last known pod CIDRs$/);
    expect(lines[1]).toBe(
      "no route over flannel.1 to 10.42.2.0/24 (node-b); not restarting k3s: rate-limited (2 restarts in the last 24 h, at most 2)",
    );
    expect(lines[2]).toMatch(/^could not report on the node: /);
    expect(run.code).toBe(0);
  });
});
