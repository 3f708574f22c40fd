/**
 * K3s day two against the control-plane tier's real API server (etcd, kube-apiserver with the Node
 * authorizer, kube-controller-manager with the disruption controller) and its real S3 store:
 *
 * - `infra upgrade`: the order, cordon, eviction through the real Eviction API with a
 *   PodDisruptionBudget that allows and one that blocks, uncordon, stopping at a failed node and
 *   resuming by running the command again; the refusals through the built CLI.
 * - `infra dr snapshots` / `restore-control-plane`: objects laid out in the bucket as K3s writes them
 *   (pkg/etcd/s3/s3.go: <folder>/<name>-<node>-<unix time>, user metadata k3s-node-name, a .metadata/
 *   sidecar), listed newest first; a missing snapshot, missing and wrong credentials, a healthy cluster.
 * - `infra status`: days left on the tier's own serving certificate and on client certificates made
 *   to expire in 10 and 400 days; etcd through the API server's /readyz/etcd.
 *
 * There is no K3s, kubelet or scheduler here. What they would do is played by the test and named so:
 * "kubelet stand-in" reports pods Running and Ready and finishes the deletion of evicted pods (a kubelet
 * confirms it); the "K3s stand-in" of the host actions records each call and reports the node at the new
 * version (what K3s' kubelet does after the playbook ran) and, for the snapshot, uploads an object the
 * way K3s does. The playbooks themselves run in the hosts tier (check mode) and on real clusters only.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import type { CommandContext } from "../../src/context.js";
import { CORDONED_BY_ANNOTATION } from "../../src/dr/drain.js";
import { statusCommand } from "../../src/dr/status.js";
import { InfraError } from "../../src/errors.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import type { PhaseContext } from "../../src/phases/phase.js";
import type { HostActions } from "../../src/upgrade/host-actions.js";
import { upgradeCommand } from "../../src/upgrade/upgrade.js";
import { runCli } from "../helpers/cli.js";
import { reportNodeStatus } from "./fixtures.js";
import { type ControlPlane, freePort, startControlPlane } from "./harness.js";

const FROM = "v1.36.3+k3s1";
const TO = "v1.37.1+k3s1";
const BUCKET = "k3s-etcd-test";
/** K3s names a snapshot with its server's clock: here an hour behind this machine's, as a skewed one may be. */
const SERVER_CLOCK_BEHIND_S = 3600;
const FOLDER = "etcd";

let plane: ControlPlane;
let project: string;
let s3: S3Client;

async function writeProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infra-day2-"));
  const example = await readFile(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
  await writeFile(join(dir, "cluster.yaml"), example.replace("name: demo-backups", `name: ${BUCKET}`));
  await mkdir(join(dir, "ansible", "inventory"), { recursive: true });
  await copyFile(join(PACKAGE_ROOT, "ansible", "ansible.cfg"), join(dir, "ansible", "ansible.cfg"));
  await writeFile(
    join(dir, "ansible", "inventory", "hosts.yml"),
    [
      "k3s_cluster:",
      "  children:",
      "    k3s_masters:",
      "      hosts:",
      "        s1: {}",
      "    k3s_workers:",
      "      hosts:",
      "        a1: {}",
      "        a2: {}",
      "        a3: {}",
      "",
    ].join("\n"),
  );
  return dir;
}

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    KUBECONFIG: plane.kubeconfig,
    INFRA_S3_ENDPOINT: plane.s3.endpoint,
    AWS_ACCESS_KEY_ID: plane.s3.accessKey,
    AWS_SECRET_ACCESS_KEY: plane.s3.secretKey,
    ...extra,
  };
}

function ctx(lines: string[] = []): CommandContext {
  const base = plane.context({ lines });
  return { ...base, cwd: project, env: { ...base.env, ...env() } };
}

const kubectlJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await plane.kubectl([...args, "-o", "json"])) as T;

interface NodeJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { unschedulable?: boolean };
  status: { nodeInfo: { kubeletVersion: string } };
}

const node = (name: string) => kubectlJson<NodeJson>(["get", "node", name]);

/** A Node as a kubelet registers it (labels as K3s sets them), then its status as the kubelet reports it. */
async function registerNode(
  name: string,
  role: "server" | "agent",
  version = FROM,
  ready = true,
): Promise<void> {
  const labels: Record<string, string> =
    role === "server"
      ? { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/etcd": "true" }
      : {};
  await plane.apply({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "kubernetes.io/hostname": name, ...labels },
      annotations:
        role === "server"
          ? {
              "etcd.k3s.cattle.io/node-name": `${name}-3f2a`,
              "etcd.k3s.cattle.io/node-address": "100.64.0.1",
            }
          : {},
    },
    spec: { podCIDR: `10.42.${name.charCodeAt(1)}.0/24` },
  });
  await reportNode(name, version, ready);
}

/** kubelet stand-in: the node's status (Ready or not, version); K3s' EtcdIsVoter on servers. */
async function reportNode(name: string, version: string, ready = true): Promise<void> {
  const now = new Date().toISOString();
  const conditions = [
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason: "KubeletReady",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    },
  ];
  if (name.startsWith("s")) {
    conditions.push({
      type: "EtcdIsVoter",
      status: "True",
      reason: "MemberNotLearner",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
  }
  await reportNodeStatus(plane, name, { conditions, nodeInfo: { kubeletVersion: version } });
}

/** A pod bound to a node (no scheduler), then reported Running and Ready by the kubelet stand-in. */
async function runPod(
  ns: string,
  name: string,
  nodeName: string,
  labels: Record<string, string>,
  owner?: { kind: string; name: string; uid: string; apiVersion: string },
): Promise<void> {
  await plane.apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      labels,
      ...(owner ? { ownerReferences: [{ ...owner, controller: true }] } : {}),
    },
    spec: { nodeName, containers: [{ name: "app", image: "registry.invalid/app:1" }] },
  });
  const now = new Date().toISOString();
  await plane.kubectl([
    "-n",
    ns,
    "patch",
    "pod",
    name,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
      },
    }),
  ]);
}

async function budget(ns: string, name: string, app: string, minAvailable: number): Promise<void> {
  await plane.apply({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, namespace: ns },
    spec: { minAvailable, selector: { matchLabels: { app } } },
  });
}

/** Until the disruption controller has looked at the budget (its status decides evictions). */
async function budgetSettled(ns: string, name: string, allowed: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pdb = await kubectlJson<{
      metadata: { generation: number };
      status?: { observedGeneration?: number; disruptionsAllowed?: number };
    }>(["-n", ns, "get", "pdb", name]);
    if (
      pdb.status?.observedGeneration === pdb.metadata.generation &&
      pdb.status.disruptionsAllowed === allowed
    )
      return;
    if (Date.now() > deadline) throw new Error(`PDB ${ns}/${name}: ${JSON.stringify(pdb.status)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** kubelet stand-in: a kubelet confirms the deletion of a terminating pod; here it is finished at once. */
function kubeletStandIn(): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const pods = await kubectlJson<{
        items: { metadata: { name: string; namespace: string; deletionTimestamp?: string } }[];
      }>(["get", "pods", "-A"]).catch(() => ({ items: [] }));
      for (const p of pods.items.filter((i) => i.metadata.deletionTimestamp)) {
        await plane
          .kubectl([
            "-n",
            p.metadata.namespace,
            "delete",
            "pod",
            p.metadata.name,
            "--grace-period=0",
            "--force",
            "--wait=false",
          ])
          .catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function putSnapshotObject(key: string, body: Buffer, nodeName?: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: body,
      ContentType: "application/octet-stream",
      Metadata: nodeName
        ? {
            "k3s-node-name": nodeName,
            "k3s-cluster-id": "6e1c7c51-0000-4000-8000-000000000000",
            "k3s-token-hash": "sha256:abc",
          }
        : {},
    }),
  );
}

interface Call {
  what: "snapshot" | "upgrade";
  nodes: string[];
  /** For upgrades: was each node cordoned (by the CLI) and empty of evictable pods when the playbook would run? */
  cordoned?: boolean[];
  podsLeft?: number;
}

/**
 * K3s stand-in for the host side: records the calls; "upgrades" a node by reporting it at the new
 * version (K3s' kubelet does that once the playbook installed the release); the snapshot is uploaded
 * as K3s would. `failOn` makes the upgrade of that node fail once, as a failed playbook would.
 */
function k3sStandIn(calls: Call[], failOn?: string): () => Promise<HostActions> {
  let failed = false;
  return async () => ({
    async snapshot(name: string, _ctx: PhaseContext) {
      calls.push({ what: "snapshot", nodes: ["s1"] });
      await putSnapshotObject(
        `${FOLDER}/${name}-s1-${Math.floor(Date.now() / 1000) - SERVER_CLOCK_BEHIND_S}`,
        randomBytes(2048),
        "s1",
      );
    },
    async upgrade(nodes: readonly string[], version: string, _ctx: PhaseContext) {
      const states = await Promise.all(nodes.map(node));
      const pods = await kubectlJson<{
        items: { spec: { nodeName: string }; metadata: { ownerReferences?: { kind: string }[] } }[];
      }>(["get", "pods", "-A"]);
      calls.push({
        what: "upgrade",
        nodes: [...nodes],
        cordoned: states.map(
          (s) => s.spec.unschedulable === true && CORDONED_BY_ANNOTATION in (s.metadata.annotations ?? {}),
        ),
        podsLeft: pods.items.filter(
          (p) => nodes.includes(p.spec.nodeName) && p.metadata.ownerReferences?.[0]?.kind !== "DaemonSet",
        ).length,
      });
      if (failOn && nodes.includes(failOn) && !failed) {
        failed = true;
        throw new InfraError(
          "TASK_FAILED",
          `${failOn}: task "Run the K3s installer at the pinned version" failed`,
        );
      }
      for (const n of nodes) await reportNode(n, version);
    },
  });
}

const upgrade = (calls: Call[], failOn?: string, extra: Record<string, string> = {}) =>
  upgradeCommand(
    ctx(),
    { to: TO, yes: true, drainTimeout: "6s", nodeTimeout: "30s", maxUnavailable: "1", ...extra },
    { hostActions: k3sStandIn(calls, failOn), pollMs: 300 },
  );

async function expectFailure(promise: Promise<unknown>): Promise<InfraError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InfraError);
  return error as InfraError;
}

beforeAll(async () => {
  plane = await startControlPlane({ velero: false, s3: true });
  await mkdir(join(plane.s3.root, BUCKET));
  project = await writeProject();
  s3 = new S3Client({
    endpoint: plane.s3.endpoint,
    region: "auto",
    forcePathStyle: true,
    credentials: { accessKeyId: plane.s3.accessKey, secretAccessKey: plane.s3.secretKey },
  });
  await registerNode("s1", "server");
  for (const a of ["a1", "a2", "a3"]) await registerNode(a, "agent");
  await plane.kubectl(["create", "namespace", "shop"]);
  // a DaemonSet (no controller runs it here) and its pod on s1: it stays with the node
  await plane.apply({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "shop" },
    spec: {
      selector: { matchLabels: { app: "node-agent" } },
      template: {
        metadata: { labels: { app: "node-agent" } },
        spec: { containers: [{ name: "a", image: "registry.invalid/a:1" }] },
      },
    },
  });
  const ds = await kubectlJson<{ metadata: { uid: string } }>(["-n", "shop", "get", "daemonset", "agent"]);
  await runPod(
    "shop",
    "agent-s1",
    "s1",
    { app: "node-agent" },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      name: "agent",
      uid: ds.metadata.uid,
    },
  );
  await runPod("shop", "web-1", "a1", { app: "web" });
  await runPod("shop", "web-2", "a2", { app: "web" });
  await runPod("shop", "db-0", "a3", { app: "db" });
  await budget("shop", "web", "web", 1);
  await budget("shop", "db", "db", 1);
  await budgetSettled("shop", "web", 1);
  await budgetSettled("shop", "db", 0);
}, 600_000);

afterAll(async () => {
  s3?.destroy();
  await plane?.stop(false);
  if (project) await rm(project, { recursive: true, force: true });
});

describe("infra upgrade against a real API server", () => {
  it("--dry-run: the checks, servers first, agents in batches, what each drain would evict; nothing changes", async () => {
    const run = runCli(["upgrade", "--to", TO, "--dry-run", "--max-unavailable", "2", "--json"], {
      cwd: project,
      env: env(),
    });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      dryRun: boolean;
      checks: string[];
      steps: { role: string; nodes: { name: string; pods?: { pod: string; blockedNow: boolean }[] }[] }[];
    };
    expect(result.dryRun).toBe(true);
    expect(result.steps.map((s) => [s.role, s.nodes.map((n) => n.name)])).toEqual([
      ["server", ["s1"]],
      ["agent", ["a1", "a2"]],
      ["agent", ["a3"]],
    ]);
    const pods = result.steps.flatMap((s) => s.nodes).flatMap((n) => n.pods ?? []);
    // the DaemonSet pod stays with its node; db-0's budget allows no disruption
    expect(pods.map((p) => [p.pod, p.blockedNow])).toEqual([
      ["shop/web-1", false],
      ["shop/web-2", false],
      ["shop/db-0", true],
    ]);
    expect(result.checks.join("\n")).toMatch(/bucket k3s-etcd-test answers/);
    const human = runCli(["upgrade", "--to", TO, "--dry-run", "--max-unavailable", "2"], {
      cwd: project,
      env: env(),
    });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(
      /^Dry run: upgrade to v1\.37\.1\+k3s1 \(from --to\)\. Checks passed:\n {2}✓ /,
    );
    expect(human.stdout).toMatch(
      /\nSTEP +NODE +ROLE +FROM +ACTIONS\n1 +s1 +server +v1\.36\.3\+k3s1 +cordon, drain, upgrade, wait Ready, uncordon\n2 +a1 +agent/,
    );
    expect(human.stdout).toMatch(
      /a3: evict shop\/db-0 — PodDisruptionBudget shop\/db \(minAvailable 1; 1 healthy of 1 needed, 0 disruptions allowed\) \(would block now\)/,
    );
    for (const n of ["s1", "a1", "a2", "a3"]) expect((await node(n)).spec.unschedulable).toBeUndefined();
  });

  it("stops at the first node that fails; that node stays cordoned and is retried first by the next run", async () => {
    const kubelet = kubeletStandIn();
    const calls: Call[] = [];
    try {
      const error = await expectFailure(upgrade(calls, "a1"));
      expect(error.code).toBe("TASK_FAILED");
      expect(error.message).toMatch(/^upgrade agent a1: a1: task "Run the K3s installer/);
      expect(error.hint).toMatch(
        /a1 stays cordoned .* retried first; then resume with `infra upgrade --to v1\.37\.1\+k3s1`/,
      );
    } finally {
      await kubelet.stop();
    }
    // snapshot first, then s1 alone (cordoned, drained: only its DaemonSet pod left), then a1
    expect(calls.map((c) => [c.what, c.nodes])).toEqual([
      ["snapshot", ["s1"]],
      ["upgrade", ["s1"]],
      ["upgrade", ["a1"]],
    ]);
    expect(calls.slice(1).map((c) => [c.cordoned, c.podsLeft])).toEqual([
      [[true], 0],
      [[true], 0],
    ]);
    const s1 = await node("s1");
    expect([s1.spec.unschedulable, s1.status.nodeInfo.kubeletVersion]).toEqual([undefined, TO]);
    const a1 = await node("a1");
    expect(a1.spec.unschedulable).toBe(true);
    expect(a1.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBe(`upgrade to ${TO}`);
    // web-1 went through the Eviction API (the budget allowed one); web-2 and db-0 were not touched
    const pods = (await plane.kubectl(["-n", "shop", "get", "pods", "-o", "name"]))
      .split("\n")
      .filter(Boolean)
      .sort();
    expect(pods).toEqual(["pod/agent-s1", "pod/db-0", "pod/web-2"]);
    for (const n of ["a2", "a3"]) {
      const state = await node(n);
      expect([state.spec.unschedulable, state.status.nodeInfo.kubeletVersion]).toEqual([undefined, FROM]);
    }
  });

  it("resumes: a1 first, then a2's drain is held by the PodDisruptionBudget — reported, a2 left as it was", async () => {
    await budgetSettled("shop", "web", 0);
    const kubelet = kubeletStandIn();
    const calls: Call[] = [];
    try {
      const error = await expectFailure(upgrade(calls));
      expect(error.code).toBe("DRAIN_BLOCKED");
      expect(error.message).toMatch(
        /^upgrade agent a2: draining a2 did not finish within 6s: 1 pod\(s\) held by a disruption budget: shop\/web-2 \(PodDisruptionBudget shop\/web \(minAvailable 1; 1 healthy of 1 needed, 0 disruptions allowed\)\)$/,
      );
      expect(error.hint).toMatch(/relax its PodDisruptionBudget.*no node was left cordoned/);
    } finally {
      await kubelet.stop();
    }
    expect(calls.map((c) => [c.what, c.nodes])).toEqual([
      ["snapshot", ["s1"]],
      ["upgrade", ["a1"]],
    ]);
    const a1 = await node("a1");
    expect([a1.spec.unschedulable, a1.status.nodeInfo.kubeletVersion]).toEqual([undefined, TO]);
    expect(a1.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
    const a2 = await node("a2");
    expect([a2.spec.unschedulable, a2.metadata.annotations?.[CORDONED_BY_ANNOTATION]]).toEqual([
      undefined,
      undefined,
    ]);
    expect(await plane.kubectl(["-n", "shop", "get", "pod", "web-2", "-o", "name"])).toMatch(/web-2/);
  });

  it("a budget that never allows an eviction: named with the next step; no node left cordoned", async () => {
    // the workload got a second pod on an upgraded node: now web allows one disruption
    await runPod("shop", "web-3", "a1", { app: "web" });
    await budgetSettled("shop", "web", 1);
    const kubelet = kubeletStandIn();
    const calls: Call[] = [];
    try {
      const run = runCli(["upgrade", "--to", TO, "--dry-run", "--json"], { cwd: project, env: env() });
      expect(
        JSON.parse(run.stdout).steps.flatMap((s: { nodes: { name: string }[] }) =>
          s.nodes.map((n) => n.name),
        ),
      ).toEqual(["a2", "a3"]);
      const error = await expectFailure(upgrade(calls));
      expect(error.code).toBe("DRAIN_BLOCKED");
      expect(error.message).toMatch(
        /draining a3 .*shop\/db-0 \(PodDisruptionBudget shop\/db \(minAvailable 1; 1 healthy of 1 needed, 0 disruptions allowed\)\)/,
      );
    } finally {
      await kubelet.stop();
    }
    expect(calls.filter((c) => c.what === "upgrade").map((c) => c.nodes)).toEqual([["a2"]]);
    const nodes = await kubectlJson<{ items: NodeJson[] }>(["get", "nodes"]);
    expect(nodes.items.filter((n) => n.spec.unschedulable).map((n) => n.metadata.name)).toEqual([]);
    expect((await node("a2")).status.nodeInfo.kubeletVersion).toBe(TO);
  });

  it("Ctrl-C while a drain waits: exit 130, the node uncordoned again, the state said", async () => {
    const controller = new AbortController();
    const calls: Call[] = [];
    const base = ctx();
    // the first Ctrl-C, a second after a3 was cordoned: its drain is waiting on the budget by then
    const reporter = {
      ...base.reporter,
      step: (subject: string, message: string) => {
        base.reporter.step(subject, message);
        if (subject === "a3" && message === "cordoned") setTimeout(() => controller.abort(), 1000);
      },
    };
    const error = await expectFailure(
      upgradeCommand(
        { ...base, reporter, signal: controller.signal },
        { to: TO, yes: true, drainTimeout: "60s", nodeTimeout: "30s" },
        { hostActions: k3sStandIn(calls), pollMs: 300 },
      ),
    );
    expect([error.code, error.exitCode]).toEqual(["INTERRUPTED", 130]);
    expect(error.message).toMatch(/interrupted while draining a3/);
    expect(error.hint).toMatch(/no node was left cordoned; then resume with/);
    expect(calls.filter((c) => c.what === "upgrade")).toEqual([]);
    expect((await node("a3")).spec.unschedulable).toBeUndefined();
  });

  it("once the budget is relaxed the run finishes; a second run has nothing to do", async () => {
    await plane.kubectl(["-n", "shop", "delete", "pdb", "db"]);
    const kubelet = kubeletStandIn();
    const calls: Call[] = [];
    try {
      const result = await upgrade(calls);
      expect(result.data.steps.flatMap((s) => s.nodes).map((n) => [n.name, n.status, n.evicted])).toEqual([
        ["a3", "upgraded", ["shop/db-0"]],
      ]);
      expect(result.data.snapshot.uploaded).toMatch(/^pre-upgrade-v1-37-1-k3s1-s1-\d+$/);
      expect(result.human(result.data)).toMatch(/✓ Upgraded to v1\.37\.1\+k3s1/);
    } finally {
      await kubelet.stop();
    }
    const again = await upgrade([]);
    expect(again.human(again.data)).toMatch(/^✓ Every node already runs v1\.37\.1\+k3s1; nothing to do\.\n/);
    expect(again.data.steps).toEqual([]);
    const nodes = await kubectlJson<{ items: NodeJson[] }>(["get", "nodes"]);
    expect(
      nodes.items.map((n) => [
        n.metadata.name,
        n.status.nodeInfo.kubeletVersion,
        n.spec.unschedulable ?? false,
      ]),
    ).toEqual([
      ["a1", TO, false],
      ["a2", TO, false],
      ["a3", TO, false],
      ["s1", TO, false],
    ]);
  });
});

describe("infra upgrade refuses before touching anything (the built CLI)", () => {
  const refusal = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const run = runCli(["upgrade", ...args, "--yes"], { cwd: project, env: env(extra) });
    const errors = run.stderr.split("\n").filter((l) => l.startsWith("✗"));
    expect(errors, run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(/\nhint: /);
    return { code: run.code, error: errors[0] ?? "", stderr: run.stderr };
  };

  it("a malformed or unknown --to: exit 2", () => {
    expect(refusal(["--to", "1.37"])).toMatchObject({
      code: 2,
      error: '✗ --to: "1.37" is not a K3s release',
    });
    expect(refusal(["--to", "v1.99.0+k3s1"]).code).toBe(2);
    expect(refusal(["--to", "v1.35.2+k3s1"]).error).toMatch(/lacks the fix for flannel\.1/);
    expect(refusal(["--max-unavailable", "0"])).toMatchObject({
      code: 2,
      error: '✗ --max-unavailable: "0" is not a whole number from 1 to 1000',
    });
    expect(refusal(["--drain-timeout", "0"])).toMatchObject({
      code: 2,
      error: '✗ --drain-timeout: "0" is too short: at least 1s',
    });
  });

  it("a downgrade and a skipped minor version: exit 3, no node changed", async () => {
    const down = refusal(["--to", "v1.36.3+k3s1"]);
    expect(down.code).toBe(3);
    expect(down.error).toMatch(
      /node a1 runs v1\.37\.1\+k3s1, newer than v1\.36\.3\+k3s1: K3s does not downgrade/,
    );
    await reportNode("a3", "v1.35.6+k3s1");
    try {
      const skip = refusal(["--to", TO]);
      expect(skip.code).toBe(3);
      expect(skip.error).toMatch(/v1\.37\.1\+k3s1 is 2 minor versions ahead of node a3 \(v1\.35\.6\+k3s1\)/);
      expect(skip.stderr).toMatch(/infra upgrade --to v1\.36\.3\+k3s1, then --to v1\.37\.1\+k3s1/);
    } finally {
      await reportNode("a3", TO);
    }
  });

  it("a node NotReady before the start: exit 3, nothing cordoned", async () => {
    await reportNode("a2", FROM, false);
    try {
      const run = refusal(["--to", TO]);
      expect(run.code).toBe(3);
      expect(run.error).toMatch(/node a2 is not Ready/);
    } finally {
      await reportNode("a2", TO);
    }
    const nodes = await kubectlJson<{ items: NodeJson[] }>(["get", "nodes"]);
    expect(nodes.items.some((n) => n.spec.unschedulable)).toBe(false);
  });

  it("R2 credentials missing or wrong: exit 3 before any node is touched", async () => {
    await reportNode("a3", FROM);
    try {
      const missing = refusal(["--to", TO], { AWS_SECRET_ACCESS_KEY: "" });
      expect([missing.code, missing.error]).toEqual([
        3,
        "✗ AWS_SECRET_ACCESS_KEY not set: the bucket cannot be read",
      ]);
      const wrong = refusal(["--to", TO], { AWS_SECRET_ACCESS_KEY: "not-the-secret" });
      expect(wrong.code).toBe(3);
      expect(wrong.error).toMatch(
        /bucket k3s-etcd-test at http:\/\/127\.0\.0\.1:\d+ rejected the credentials \(SignatureDoesNotMatch\)/,
      );
    } finally {
      await reportNode("a3", TO);
    }
    expect((await node("a3")).spec.unschedulable).toBeUndefined();
  });
});

describe("infra upgrade when the API server stops", () => {
  /** The stand-in's restart of the API server, awaited before the next test. */
  let restarted: Promise<void> | undefined;

  /**
   * K3s stand-in whose "upgrade" stops the tier's kube-apiserver, as restarting K3s on the only server
   * takes its API away; `backAfterMs`: it comes back that much later and the node then reports the new
   * version (undefined: it stays down).
   */
  const apiGoesAway = (calls: Call[], backAfterMs?: number): (() => Promise<HostActions>) => {
    const standIn = k3sStandIn(calls);
    return async () => {
      const actions = await standIn();
      return {
        snapshot: actions.snapshot,
        async upgrade(nodes, version) {
          calls.push({ what: "upgrade", nodes: [...nodes] });
          await plane.stopApiServer();
          if (backAfterMs === undefined) return;
          restarted = (async () => {
            await new Promise((r) => setTimeout(r, backAfterMs));
            await plane.startApiServer();
            for (const n of nodes) await reportNode(n, version);
          })();
        },
      };
    };
  };

  afterAll(async () => {
    await restarted;
    // whatever a test did, the later tests need the API server
    await plane.kubectl(["get", "--raw", "/readyz"]).catch(() => plane.startApiServer());
  });

  it("the server's upgrade takes the API away for a while: the wait rides it out and the run finishes", async () => {
    await reportNode("s1", FROM);
    const calls: Call[] = [];
    const result = await upgradeCommand(
      ctx(),
      { to: TO, yes: true, drainTimeout: "6s", nodeTimeout: "60s", requestTimeoutMs: 2000 },
      { hostActions: apiGoesAway(calls, 4000), pollMs: 300 },
    );
    await restarted;
    expect(calls.map((c) => [c.what, c.nodes])).toEqual([
      ["snapshot", ["s1"]],
      ["upgrade", ["s1"]],
    ]);
    expect(result.data.steps.flatMap((s) => s.nodes).map((n) => [n.name, n.status])).toEqual([
      ["s1", "upgraded"],
    ]);
    const s1 = await node("s1");
    expect([s1.spec.unschedulable, s1.status.nodeInfo.kubeletVersion]).toEqual([undefined, TO]);
    expect(s1.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
  });

  it("the API stays away: the run stops after --node-timeout, says the state could not be read and how to resume", async () => {
    await reportNode("s1", FROM);
    const calls: Call[] = [];
    restarted = undefined;
    try {
      const error = await expectFailure(
        upgradeCommand(
          ctx(),
          { to: TO, yes: true, drainTimeout: "6s", nodeTimeout: "5s", requestTimeoutMs: 2000 },
          { hostActions: apiGoesAway(calls), pollMs: 300 },
        ),
      );
      expect(error.exitCode).toBe(1);
      expect(error.message).toMatch(
        /^upgrade server s1: GET \/api\/v1\/nodes\/s1: .*the Kubernetes API at https:\/\/127\.0\.0\.1:\d+/,
      );
      expect(error.hint).toMatch(
        /nodes cordoned by this command carry the annotation infra-k3s\.io\/cordoned-by \(the API did not answer to list them\); then resume with `infra upgrade --to v1\.37\.1\+k3s1`/,
      );
    } finally {
      await plane.startApiServer();
    }
    // s1 keeps the CLI's cordon: its upgrade had started; the next run picks it up first
    const s1 = await node("s1");
    expect([s1.spec.unschedulable, s1.metadata.annotations?.[CORDONED_BY_ANNOTATION]]).toEqual([
      true,
      `upgrade to ${TO}`,
    ]);
    await reportNode("s1", TO);
    const resumed = await upgrade([]);
    expect(resumed.data.steps.flatMap((s) => s.nodes).map((n) => [n.name, n.action, n.status])).toEqual([
      ["s1", "uncordon", "uncordoned"],
    ]);
    expect((await node("s1")).spec.unschedulable).toBeUndefined();
  });
});

describe("etcd snapshots in the bucket", () => {
  beforeAll(async () => {
    // as K3s lays them out: scheduled, compressed, on-demand; a sidecar; an empty object; another folder
    await putSnapshotObject(`${FOLDER}/etcd-snapshot-s1-1764000000`, randomBytes(3 * 1024 * 1024), "s1");
    await putSnapshotObject(`${FOLDER}/etcd-snapshot-s2-1764021600.zip`, randomBytes(1500), "s2");
    await putSnapshotObject(`${FOLDER}/on-demand-s1-1764030000`, randomBytes(700), "s1");
    await putSnapshotObject(
      `${FOLDER}/.metadata/etcd-snapshot-s1-1764000000`,
      Buffer.from('{"note":"x"}'),
      "s1",
    );
    await putSnapshotObject(`${FOLDER}/etcd-snapshot-s1-1764000001`, Buffer.alloc(0), "s1");
    await putSnapshotObject(`${FOLDER}-old/etcd-snapshot-s1-1763000000`, randomBytes(10), "s1");
  });

  it("lists them newest first with node, size and age, as K3s names them", () => {
    const run = runCli(["dr", "snapshots", "--json"], { cwd: project, env: env() });
    expect(run.code, run.stderr).toBe(0);
    const { snapshots } = JSON.parse(run.stdout) as {
      snapshots: { name: string; node: string; size: number; createdAt: string; compressed: boolean }[];
    };
    const older = snapshots.filter((s) => !s.name.startsWith("pre-upgrade-"));
    expect(older).toEqual([
      {
        name: "on-demand-s1-1764030000",
        key: "etcd/on-demand-s1-1764030000",
        node: "s1",
        size: 700,
        createdAt: "2025-11-25T00:20:00.000Z",
        compressed: false,
      },
      {
        name: "etcd-snapshot-s2-1764021600.zip",
        key: "etcd/etcd-snapshot-s2-1764021600.zip",
        node: "s2",
        size: 1500,
        createdAt: "2025-11-24T22:00:00.000Z",
        compressed: true,
      },
      {
        name: "etcd-snapshot-s1-1764000000",
        key: "etcd/etcd-snapshot-s1-1764000000",
        node: "s1",
        size: 3145728,
        createdAt: "2025-11-24T16:00:00.000Z",
        compressed: false,
      },
    ]);
    // the upgrades' on-demand snapshots came first (newest)
    expect(snapshots[0]?.name).toMatch(/^pre-upgrade-v1-37-1-k3s1-s1-\d+$/);
    const human = runCli(["dr", "snapshots"], { cwd: project, env: env() });
    expect(human.stdout).toMatch(
      /^etcd snapshots in s3:\/\/k3s-etcd-test\/etcd\/ \(newest first\):\nNAME +NODE +SIZE +AGE\n/,
    );
    expect(human.stdout).toMatch(/etcd-snapshot-s1-1764000000 +s1 +3\.0 MiB +\d+d\d+h/);
  });

  it("missing or wrong credentials, a snapshot that does not exist: one line, exit 3 / 2", () => {
    const missing = runCli(["dr", "snapshots"], { cwd: project, env: env({ AWS_ACCESS_KEY_ID: "" }) });
    expect([missing.code, missing.stderr.match(/^✗ .*/m)?.[0]]).toEqual([
      3,
      "✗ AWS_ACCESS_KEY_ID not set: the bucket cannot be read",
    ]);
    const wrong = runCli(["dr", "snapshots"], { cwd: project, env: env({ AWS_ACCESS_KEY_ID: "AKNOTAKEY" }) });
    expect(wrong.code, wrong.stderr).toBe(3);
    // versitygw's name for an unknown key (R2 and AWS answer InvalidAccessKeyId)
    expect(wrong.stderr).toMatch(/rejected the credentials \(XAdminUserNotFound\)/);
    const none = runCli(["dr", "restore-control-plane", "--snapshot", "etcd-snapshot-s9-1", "--dry-run"], {
      cwd: project,
      env: env(),
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /✗ --snapshot: there is no etcd snapshot "etcd-snapshot-s9-1" in the bucket\nhint: newest: pre-upgrade-/,
    );
  });

  it("restore-control-plane refuses a healthy cluster unless --force, and shows the plan", () => {
    const healthy = runCli(["dr", "restore-control-plane", "--yes"], { cwd: project, env: env() });
    expect(healthy.code).toBe(3);
    expect(healthy.stderr).toMatch(/✗ the control plane looks healthy \(API ready, 1 server\(s\) Ready\)/);
    const forced = runCli(
      ["dr", "restore-control-plane", "--snapshot", "etcd-snapshot-s1-1764000000", "--force", "--dry-run"],
      { cwd: project, env: env() },
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(
      /Dry run: restore of the control plane from etcd-snapshot-s1-1764000000 \(2025-11-24T16:00:00\.000Z, taken on s1\)/,
    );
    expect(forced.stdout).toMatch(/--cluster-reset-restore-path=etcd-snapshot-s1-1764000000/);
  });

  it("with the API down it goes ahead (dry run): the newest snapshot, the steps", async () => {
    const dead = join(project, "dead.kubeconfig");
    const port = await freePort();
    await writeFile(
      dead,
      (await readFile(plane.kubeconfig, "utf8")).replace(
        /server: https:\/\/127\.0\.0\.1:\d+/,
        `server: https://127.0.0.1:${port}`,
      ),
    );
    const run = runCli(["dr", "restore-control-plane", "--dry-run", "--kubeconfig", dead], {
      cwd: project,
      env: env(),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/from pre-upgrade-v1-37-1-k3s1-s1-\d+ /);
    expect(run.stdout).toMatch(
      /now: API not ready \(GET \/readyz: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ .* is unreachable: ECONNREFUSED\)/,
    );
  });
});

describe("infra status: certificates and etcd", () => {
  const opensslDays = async (file: string) => {
    const end = (await exec("openssl", ["x509", "-enddate", "-noout", "-in", file])).stdout
      .trim()
      .replace("notAfter=", "");
    return Math.floor((Date.parse(end) - Date.now()) / 86_400_000);
  };

  it("days left on the tier's serving certificate and on client certificates of 10 and 400 days", async () => {
    for (const [days, warned] of [
      [10, true],
      [400, false],
    ] as const) {
      const kubeconfig = await plane.userKubeconfig(`cert-${days}`, ["system:masters"], days);
      const result = await statusCommand({ ...ctx(), env: { ...ctx().env, KUBECONFIG: kubeconfig } }, {});
      const certs = result.data.health.certificates;
      if ("unavailable" in certs) throw new Error(certs.unavailable);
      const serving = certs.find((c) => c.which === "serving");
      const client = certs.find((c) => c.which === "client");
      expect(serving?.daysLeft).toBe(await opensslDays(join(plane.dir, "pki", "apiserver.crt")));
      expect(serving?.warning).toMatch(
        /^expires in [01] day\(s\): restart K3s on each server, one at a time/,
      );
      expect(client?.daysLeft).toBe(await opensslDays(join(plane.dir, "pki", `user-cert-${days}.crt`)));
      expect(client?.daysLeft).toBe(days - 1);
      expect(Boolean(client?.warning)).toBe(warned);
      const human = result.human(result.data);
      expect(human).toMatch(new RegExp(`Certificate client  ${days - 1} days left`));
      if (warned)
        expect(human).toMatch(
          /warning: expires in 9 day\(s\): after K3s restarted on the first server, fetch/,
        );
    }
  });

  it("etcd: the API server's own check and the members K3s labels, with their voter condition", async () => {
    const result = await statusCommand(ctx(), {});
    expect(result.data.health.etcd).toMatchObject({
      health: "ok",
      healthy: true,
      voters: 1,
      quorum: 1,
      members: [{ node: "s1", member: "s1-3f2a", address: "100.64.0.1", state: "voter" }],
    });
    expect(result.human(result.data)).toMatch(
      /etcd: healthy; 1 of 1 member\(s\) voting \(quorum 1\)\n {2}s1: voter at 100\.64\.0\.1 \(member s1-3f2a\)/,
    );
  });
});
