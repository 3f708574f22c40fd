/**
 * Backup and restore paths that must not lose data silently, against the real control plane (see
 * harness.ts): typos and bad input refused before anything is created, a failed update failing the
 * restore, a CRD Velero has not discovered yet, Velero killed and restarted, the API server stopped
 * mid-wait, the object store frozen, a restore refused by an admission policy, a drill with node
 * ports, Endpoints, Leases and ownerReferences, Ctrl-C in each drill phase, `backup logs | head`,
 * and every command run by users bound to nothing but the roles docs/disaster-recovery.md lists.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { backupCreateCommand } from "../../src/backup/create.js";
import { backupDeleteCommand } from "../../src/backup/delete.js";
import { backupDescribeCommand } from "../../src/backup/describe.js";
import { backupListCommand } from "../../src/backup/list.js";
import { backupLogsCommand } from "../../src/backup/logs.js";
import { backupRestoreCommand } from "../../src/backup/restore.js";
import type { CommandContext } from "../../src/context.js";
import { drillCommand } from "../../src/dr/drill.js";
import { failoverCommand } from "../../src/dr/failover.js";
import { nodeRecoveryCommand } from "../../src/dr/node-recovery.js";
import { restoreWorkloadCommand } from "../../src/dr/restore-workload.js";
import { statusCommand } from "../../src/dr/status.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import {
  createWorkload,
  names,
  refuseConfigMaps,
  registerNodes,
  startBuiltCli,
  startProcess,
  waitGone,
} from "./fixtures.js";
import { backupLocation, type ControlPlane, freePort, startControlPlane } from "./harness.js";

let plane: ControlPlane;
let failed = false;

const env = (kubeconfig = plane.kubeconfig) => ({
  ...process.env,
  // this checkout has no cluster.yaml: name the example, which writes refuse unless told
  INFRA_CONFIG: join(PACKAGE_ROOT, "cluster.example.yaml"),
  KUBECONFIG: kubeconfig,
  VELERO_NAMESPACE: plane.veleroNamespace,
  NO_COLOR: "1",
});
const cli = (...args: string[]) => startBuiltCli(args, env()).done;
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("✗"));
const settingsOfConfig0 = () =>
  plane.kubectl(["-n", "big", "get", "configmap", "config-0", "-o", "jsonpath={.data.settings\\.yaml}"]);
const phaseOf = async (kind: string, name: string) =>
  plane.kubectl(["-n", "velero", "get", kind, name, "-o", "jsonpath={.status.phase}"]);

async function untilPhase(kind: string, name: string, phases: RegExp, timeoutMs = 120_000): Promise<string> {
  let phase = "";
  await expect
    .poll(
      async () => {
        phase = await phaseOf(kind, name);
        return phases.test(phase);
      },
      { timeout: timeoutMs, interval: 250 },
    )
    .toBe(true);
  return phase;
}

beforeAll(async () => {
  plane = await startControlPlane();
  // big enough that its backup log outgrows a pipe's buffer (for `| head`)
  await createWorkload(plane, "big", 150);
  await plane.apply({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "frozen", namespace: "big" },
        immutable: true,
        data: { value: "as backed up" },
      },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "blocked", namespace: "big" },
        data: { a: "1" },
      },
    ],
  });
}, 600_000);

afterEach((context) => {
  if (context.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await plane?.stop(failed);
});

describe("no write goes where the operator did not say", () => {
  it("a mistyped mapping source, bad names, an unknown policy or schedule: exit 2, nothing created", async () => {
    const created = await backupCreateCommand(plane.context(), {
      name: "big-1",
      namespaces: ["big"],
      wait: true,
    });
    expect(created.exitCode ?? 0, created.human(created.data)).toBe(0);
    expect(created.data.completeness?.complete).toBe(true);
    await plane.kubectl([
      "-n",
      "big",
      "patch",
      "configmap",
      "config-0",
      "--type=merge",
      "-p",
      '{"data":{"settings.yaml":"edited"}}',
    ]);
    const restoresBefore = await names(plane, "restores");
    // the last cluster command here went elsewhere: this one says so before anything else
    await mkdir(join(PACKAGE_ROOT, ".infra"), { recursive: true });
    await writeFile(
      join(PACKAGE_ROOT, ".infra", "last-context.json"),
      JSON.stringify({ context: "prod@elsewhere", server: "https://192.0.2.1:6443" }),
    );

    const typo = await cli(
      "backup",
      "restore",
      "big-1",
      "--namespace-mapping",
      "bgi:big-copy2",
      "--allow-non-empty",
      "--existing-resource-policy",
      "update",
      "--yes",
      "--wait",
    );
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toMatch(
      /^warning: this acts on context admin@test \(https:\/\/127\.0\.0\.1:\d+\); the last infra command used prod@elsewhere \(https:\/\/192\.0\.2\.1:6443\)$/m,
    );
    expect(errorLines(typo.stderr)).toEqual([
      expect.stringContaining("--namespace-mapping names bgi, but backup big-1 holds no such namespace"),
    ]);
    expect(typo.stderr).toContain("hint: the backup holds: big");
    for (const [args, message] of [
      [
        ["--namespace-mapping", "big:Big_Copy"],
        '"Big_Copy" in --namespace-mapping big:Big_Copy is not a valid namespace name',
      ],
      [["--existing-resource-policy", "overwrite"], '"overwrite" is not none or update'],
      [["-n", "bgi"], "backup big-1 holds no objects in bgi"],
    ] as const) {
      const run = await cli("backup", "restore", "big-1", ...args, "--yes", "--wait");
      expect([run.code, errorLines(run.stderr).join("\n")]).toEqual([2, expect.stringContaining(message)]);
    }
    const noSchedule = await cli("backup", "restore", "--from-schedule", "nope", "--yes");
    expect([noSchedule.code, noSchedule.stderr]).toEqual([
      2,
      expect.stringContaining('there is no schedule "nope"'),
    ]);
    const noScheduleCreate = await cli("backup", "create", "--from-schedule", "nope", "--wait");
    expect(noScheduleCreate.code).toBe(2);

    expect(await names(plane, "restores")).toEqual(restoresBefore);
    expect(await plane.kubectl(["get", "namespace", "big-copy2", "--ignore-not-found", "-o", "name"])).toBe(
      "",
    );
    expect(await settingsOfConfig0()).toBe("edited");
  });

  it("says where it writes before it asks, names the context, and fails on an object it could not update", async () => {
    const copy = await cli(
      "backup",
      "restore",
      "big-1",
      "--namespace-mapping",
      "big:big-copy",
      "--yes",
      "--wait",
    );
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stderr).toContain("on context admin@test (https://127.0.0.1:");
    expect(copy.stderr).toContain("big -> big-copy: does not exist (Velero creates it)");
    expect(copy.stdout).toMatch(
      /✓ Restore big-1-\d+-\d+ Completed: \d+\/\d+ items into big-copy on context admin@test/,
    );

    // an immutable ConfigMap that differs from the backup cannot be patched back
    await plane.kubectl(["-n", "big", "delete", "configmap", "frozen"]);
    await plane.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "frozen", namespace: "big" },
      immutable: true,
      data: { value: "changed since" },
    });
    const update = await cli(
      "backup",
      "restore",
      "big-1",
      "--allow-non-empty",
      "--existing-resource-policy",
      "update",
      "--yes",
      "--wait",
    );
    expect(update.code, `${update.stdout}\n${update.stderr}`).toBe(1);
    expect(update.stderr).toMatch(/big: exists, NOT empty \(/);
    expect(update.stdout).toMatch(/✗ Restore .* did not write 1 object\(s\) into big on context admin@test/);
    expect(update.stdout).toMatch(/not restored {2}ConfigMap\/frozen in big: .*immutable/);
    // what could be updated was: the live edit is reverted
    expect(await settingsOfConfig0()).toBe("index: 0\nlevel: info\n");
  });

  it("a backup whose location was deleted: the hint says how to get it back", async () => {
    await plane.apply(backupLocation(plane, "spare", { bucket: plane.s3.bucket, prefix: "spare" }));
    await untilPhase("backupstoragelocation", "spare", /^Available$/, 60_000);
    const made = await backupCreateCommand(plane.context(), {
      name: "on-spare",
      namespaces: ["big"],
      storageLocation: "spare",
      wait: true,
    });
    expect(made.data.phase).toBe("Completed");
    await plane.kubectl(["-n", "velero", "delete", "backupstoragelocation", "spare"]);
    const run = await cli("backup", "restore", "on-spare", "--namespace-mapping", "big:big-spare", "--yes");
    expect(run.code).toBe(1);
    expect(errorLines(run.stderr)).toEqual([
      '✗ backup on-spare is stored in location "spare", which no longer exists',
    ]);
    expect(run.stderr).toContain('hint: re-create location "spare" (same bucket and prefix)');
    expect(run.stderr).not.toContain("use one of");
  });

  it("`backup logs | head`: no EPIPE trace, exit 0", async () => {
    const log = await backupLogsCommand(plane.context(), { name: "big-1" });
    expect(log.data.log.length).toBeGreaterThan(128 * 1024); // more than a pipe holds
    const bin = join(PACKAGE_ROOT, "dist", "bin.js");
    const pipeline = `"${process.execPath}" "${bin}" backup logs big-1 | head -c 200; exit "\${PIPESTATUS[0]}"`;
    const run = await startProcess("bash", ["-c", pipeline], env()).done;
    expect(run.stdout.length).toBe(200);
    expect(run.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(run.code).toBe(0);
  });
});

describe("RPO watched when Velero stops", () => {
  it("flags a failing schedule, a backup stuck in progress, a queue that does not move and a stale location; exit 1", async () => {
    // a schedule whose backups Velero rejects (a namespace both included and excluded)
    await plane.apply({
      apiVersion: "velero.io/v1",
      kind: "Schedule",
      metadata: { name: "nightly", namespace: "velero" },
      spec: { schedule: "0 3 * * *", template: { includedNamespaces: ["big"], excludedNamespaces: ["big"] } },
    });
    const rejected = await backupCreateCommand(plane.context(), {
      name: "nightly-now",
      fromSchedule: "nightly",
      wait: true,
    });
    expect(rejected.data.phase).toBe("FailedValidation");
    expect(rejected.exitCode).toBe(1);

    // the object store stops answering: the next backup cannot upload and stays InProgress...
    plane.freezeObjectStore(true);
    try {
      await backupCreateCommand(plane.context(), { name: "stuck", namespaces: ["big"] });
      await untilPhase("backup", "stuck", /^InProgress$/);
      // Velero refuses to delete a running backup: the command says so instead of "deleting"
      const refused = await cli("backup", "delete", "stuck", "--yes");
      expect([refused.code, refused.stdout]).toEqual([
        1,
        expect.stringContaining(
          "✗ Velero refused to delete backup stuck:\n  backup deletion failed: backup is still in progress",
        ),
      ]);
      // ...and the Velero server crashes with it running
      await plane.killVelero();
      await backupCreateCommand(plane.context(), { name: "waiting", namespaces: ["big"] });
      await sleep(18_000); // more than three validation periods (5 s here) and the 5 s bound below
      const status = await cli("status", "--max-backup-duration", "5s");
      expect(status.code, status.stderr).toBe(1);
      for (const line of [
        /✗ schedule nightly: no successful backup yet \(latest: nightly-now FailedValidation\)/,
        /✗ backup stuck: has been InProgress for \d+s \(longer than 5s\)/,
        /✗ backup waiting: has waited \d+s to start \(New\); 1 backup\(s\) waiting, behind stuck \(InProgress\)/,
        /✗ location default: status "Available" is stale: Velero last validated it \d+s ago \(it should every 5s\)/,
      ]) {
        expect(status.stdout).toMatch(line);
      }
      const list = await cli("backup", "list", "--max-backup-duration", "5s");
      expect(list.stdout).toContain("Backup problems (RPO at risk):");
      expect(list.stdout).toMatch(/✗ backup stuck: has been InProgress/);
    } finally {
      plane.freezeObjectStore(false);
    }

    // restarted, Velero fails the backup it lost and runs the waiting one: nothing is at risk
    await plane.startVelero();
    expect(await untilPhase("backup", "stuck", /^Failed$/)).toBe("Failed");
    expect(await untilPhase("backup", "waiting", /^Completed$/)).toBe("Completed");
    await plane.kubectl(["-n", "velero", "delete", "schedule", "nightly"]);
    await expect.poll(async () => (await cli("status")).code, { timeout: 60_000, interval: 2000 }).toBe(0);
  });

  it("the API server stopped mid-wait: one line and exit 1, and afterwards status tells the truth", async () => {
    plane.freezeObjectStore(true);
    const waiting = startBuiltCli(
      ["backup", "create", "mid", "-n", "big", "--wait", "--timeout", "20s"],
      env(),
    );
    try {
      await waiting.waitFor(/backup mid: InProgress/);
      await plane.stopApiServer();
      const run = await waiting.done;
      expect(run.code, run.stderr).toBe(1);
      expect(errorLines(run.stderr)).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      plane.freezeObjectStore(false);
      await plane.startApiServer();
    }
    // Velero may or may not have lived through the outage: either way the backup ends
    await plane.stopVelero();
    await plane.startVelero();
    expect(await untilPhase("backup", "mid", /^(Completed|Failed)$/)).toMatch(/Completed|Failed/);
    await expect.poll(async () => (await cli("status")).code, { timeout: 60_000, interval: 2000 }).toBe(0);
  });
});

describe("no backup is called complete when it misses what it should hold", () => {
  const widgets = (count: number) => ({
    apiVersion: "v1",
    kind: "List",
    items: Array.from({ length: count }, (_, i) => ({
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: `widget-${i}`, namespace: "big" },
      spec: { size: i },
    })),
  });

  it("a CRD installed just before a backup: the backup fails naming the type; after a Velero restart it holds them", async () => {
    // Velero refreshes its discovery when it starts and then every 5 minutes: start it now, then add the CRD
    await plane.stopVelero();
    await plane.startVelero();
    await plane.apply({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "velero.io/v1",
          kind: "Schedule",
          metadata: { name: "weekly", namespace: "velero" },
          spec: {
            schedule: "0 4 * * 0",
            paused: true,
            template: { includedNamespaces: ["big"], ttl: "720h0m0s" },
          },
        },
        {
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name: "widgets.example.com" },
          spec: {
            group: "example.com",
            scope: "Namespaced",
            names: { plural: "widgets", singular: "widget", kind: "Widget" },
            versions: [
              {
                name: "v1",
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
              },
            ],
          },
        },
      ],
    });
    await plane.kubectl(["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=60s"]);
    await plane.apply(widgets(30));
    // creation times have whole seconds: objects of the backup's own second do not count as older
    await sleep(1100);

    const run = await cli("backup", "create", "crd-1", "--from-schedule", "weekly", "--wait");
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/✗ Backup crd-1 Completed, but it lacks 1 type\(s\) with live objects/);
    expect(run.stdout).toMatch(
      /missing {2}example\.com\/v1\/Widget \(live objects in scope, e\.g\. big\/widget-\d+\)/,
    );
    expect(run.stdout).toContain(
      "restart the Velero server (kubectl -n velero rollout restart deployment/velero)",
    );
    const described = await backupDescribeCommand(plane.context(), { name: "crd-1" });
    expect(described.exitCode).toBe(1);
    expect(described.human(described.data)).toContain("Complete:     NO");
    const listed = await backupListCommand(plane.context(), {});
    expect(listed.data.findings).toContainEqual(
      expect.objectContaining({
        subject: "schedule weekly",
        message: expect.stringContaining("crd-1 lacks example.com/v1/Widget"),
      }),
    );

    // what docs/disaster-recovery.md says to do after installing a CRD
    await plane.stopVelero();
    await plane.startVelero();
    const again = await backupCreateCommand(plane.context(), {
      name: "crd-2",
      fromSchedule: "weekly",
      wait: true,
    });
    expect(again.exitCode ?? 0, again.human(again.data)).toBe(0);
    expect(again.data.completeness?.complete).toBe(true);
    const listedAgain = await backupListCommand(plane.context(), {});
    expect(listedAgain.data.findings.filter((f) => f.subject === "schedule weekly")).toEqual([
      expect.objectContaining({ severity: "warning", message: "is paused: it makes no backups" }),
    ]);
  });
});

describe("restore choices that make sense", () => {
  it("restore-workload takes the newest Completed backup over a newer PartiallyFailed one, and reports at once what could not come back", async () => {
    // a CRD whose served version needs a conversion webhook that is down: listing it fails, so a
    // backup of its namespace ends PartiallyFailed (a real Velero outcome)
    const deadPort = await freePort();
    await plane.apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "gadgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
        conversion: {
          strategy: "Webhook",
          webhook: {
            conversionReviewVersions: ["v1"],
            clientConfig: { url: `https://127.0.0.1:${deadPort}/convert` },
          },
        },
        versions: ["v1", "v2"].map((name) => ({
          name,
          served: true,
          storage: name === "v1",
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        })),
      },
    });
    await plane.kubectl(["wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=60s"]);
    await plane.kubectl(["create", "namespace", "gadgets"]);
    await plane.apply({
      apiVersion: "example.com/v1",
      kind: "Gadget",
      metadata: { name: "g", namespace: "gadgets" },
    });
    await plane.stopVelero();
    await plane.startVelero();
    const mixed = await backupCreateCommand(plane.context(), {
      name: "mixed",
      namespaces: ["big", "gadgets"],
      wait: true,
    });
    expect(mixed.data.phase).toBe("PartiallyFailed");
    await plane.kubectl(["delete", "crd", "gadgets.example.com"]);
    // Velero's discovery cache still lists the deleted type: every backup would fail to list it
    // (PartiallyFailed) until its next refresh, so restart it, as after installing a CRD
    await plane.stopVelero();
    await plane.startVelero();
    await plane.kubectl(["delete", "namespace", "gadgets", "--wait=false"]);
    await waitGone(plane, "namespace", "gadgets");

    // an admission policy refuses one object of the app when it is restored
    const allowBlocked = await refuseConfigMaps(
      plane,
      "no-blocked",
      "object.metadata.name != 'blocked'",
      "configmaps named blocked are refused",
      "blocked",
    );
    try {
      await plane.kubectl(["delete", "namespace", "big", "--wait=false"]);
      await waitGone(plane, "namespace", "big");
      const lines: string[] = [];
      const started = Date.now();
      const result = await restoreWorkloadCommand(plane.context({ lines }), {
        app: "big",
        yes: true,
        timeout: "10m",
      });
      expect(result.data.backup).toBe("crd-2");
      expect(result.data.why).toMatch(
        /^newest Completed backup holding big .*newer ones skipped: .*mixed is PartiallyFailed/,
      );
      expect(lines).toContainEqual(expect.stringMatching(/^app big: using backup crd-2: newest Completed/));
      expect(lines).toContainEqual(expect.stringMatching(/^objects: \d+\/\d+ exist$/));
      expect(result.exitCode).toBe(1);
      expect(result.data.missing).toEqual([
        expect.stringMatching(
          /^ConfigMap\/blocked: Velero could not restore it \(.*configmaps named blocked are refused/,
        ),
      ]);
      expect(Date.now() - started).toBeLessThan(120_000); // not the 10-minute timeout
    } finally {
      await allowBlocked();
    }
  });

  it("a whole-cluster restore: refused with a hint without --whole-cluster, done with it", async () => {
    const all = await backupCreateCommand(plane.context(), { name: "everything", wait: true });
    expect(all.data.phase).toBe("Completed");
    await plane.kubectl(["delete", "namespace", "big", "big-copy", "--wait=false"]);
    await waitGone(plane, "namespace", "big");
    await waitGone(plane, "namespace", "big-copy");
    const refused = await cli("backup", "restore", "everything", "--yes", "--wait");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("to restore a whole cluster use --whole-cluster");
    const whole = await cli("backup", "restore", "everything", "--whole-cluster", "--yes", "--wait");
    expect(whole.code, `${whole.stdout}\n${whole.stderr}`).toBe(0);
    expect(whole.stderr).toContain("velero: left out (Velero's own namespace)");
    expect(whole.stderr).toMatch(/default: exists, NOT empty/);
    expect(whole.stdout).toMatch(/✓ Restore everything-\S+ Completed/);
    expect(await plane.kubectl(["-n", "big-copy", "get", "configmap", "config-1", "-o", "name"])).toContain(
      "config-1",
    );
    expect(await plane.kubectl(["-n", "big", "get", "widgets", "-o", "name"])).toContain("widget-0");
  });
});

describe("a drill you can trust", () => {
  beforeAll(async () => {
    await plane.kubectl(["create", "namespace", "edge"]);
    // the controller-manager makes the namespace's default ServiceAccount, patched below
    for (let tries = 0; ; tries++) {
      const sa = await plane.kubectl([
        "-n",
        "edge",
        "get",
        "serviceaccount",
        "default",
        "--ignore-not-found",
        "-o",
        "name",
      ]);
      if (sa.trim() || tries > 60) break;
      await sleep(500);
    }
    // kubectl apply records the node port in last-applied-configuration: Velero keeps it on restore
    await plane.kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "np", namespace: "edge" },
        spec: {
          type: "NodePort",
          selector: { app: "np" },
          ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }],
        },
      }),
    );
    const parent = await plane.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "parent", namespace: "edge" },
    });
    expect(parent).toContain("parent");
    const uid = await plane.kubectl([
      "-n",
      "edge",
      "get",
      "configmap",
      "parent",
      "-o",
      "jsonpath={.metadata.uid}",
    ]);
    await plane.apply({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: "child",
            namespace: "edge",
            ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "parent", uid }],
          },
          data: { a: "1" },
        },
        // a Service without selector and the endpoints its operator keeps by hand
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "db", namespace: "edge" },
          spec: { ports: [{ port: 5432 }] },
        },
        {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: "db", namespace: "edge" },
          subsets: [{ addresses: [{ ip: "192.0.2.10" }], ports: [{ port: 5432 }] }],
        },
        {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: {
            name: "db-manual",
            namespace: "edge",
            labels: {
              "kubernetes.io/service-name": "db",
              "endpointslice.kubernetes.io/managed-by": "ops.example.com",
            },
          },
          addressType: "IPv4",
          endpoints: [{ addresses: ["192.0.2.10"] }],
          ports: [{ port: 5432 }],
        },
        {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: "leader", namespace: "edge" },
          spec: { holderIdentity: "worker-a", leaseDurationSeconds: 30 },
        },
      ],
    });
    await plane.kubectl([
      "-n",
      "edge",
      "patch",
      "serviceaccount",
      "default",
      "--type=merge",
      "-p",
      '{"imagePullSecrets":[{"name":"regcred"}],"metadata":{"annotations":{"team":"edge"}}}',
    ]);
  });

  it("passes with a hand-set node port, hand-made endpoints, a lease, the default ServiceAccount and an ownerReference; keeps logs; cleans up", async () => {
    const drill = await drillCommand(plane.context(), { namespace: "edge", timeout: "5m" });
    const text = drill.human(drill.data);
    expect(drill.data.pass, text).toBe(true);
    expect(drill.exitCode ?? 0).toBe(0);
    const comparison = drill.data.comparison;
    expect(comparison?.different).toEqual([]);
    expect(comparison?.missing).toEqual([]);
    expect(comparison?.expected).toEqual([
      expect.objectContaining({
        object: "ConfigMap/child",
        what: expect.stringContaining("ownerReferences to ConfigMap/parent dropped"),
      }),
      expect.objectContaining({
        object: "Service/np",
        what: expect.stringContaining("node ports re-assigned"),
      }),
    ]);
    // no endpoints controller runs here, so np has no Endpoints of the cluster's making
    expect(comparison?.notCompared.map((n) => n.object)).toEqual(["ConfigMap/kube-root-ca.crt"]);
    for (const compared of [
      "Endpoints/db",
      "EndpointSlice/db-manual",
      "Lease/leader",
      "ServiceAccount/default",
    ]) {
      expect(comparison?.missing.concat(comparison.different.map((d) => d.object))).not.toContain(compared);
    }
    expect(comparison?.matched).toBeGreaterThanOrEqual(8);
    expect(drill.data.logs?.dir).toBeDefined();
    expect(existsSync(join(drill.data.logs?.dir ?? "", "backup.log"))).toBe(true);
    expect(readFileSync(join(drill.data.logs?.dir ?? "", "restore.log"), "utf8")).toContain(
      "restore completed",
    );
    expect(drill.data.cleanedUp).toBe(true);
    expect(await names(plane, "backups")).not.toContain(drill.data.backup);
    expect(await names(plane, "configmaps")).not.toContain(drill.data.restore);
  });

  it("a failing drill prints Velero's errors from the logs it kept, and still cleans up", async () => {
    await plane.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "blocked", namespace: "edge" },
      data: { a: "1" },
    });
    const allowCopies = await refuseConfigMaps(
      plane,
      "no-blocked-copies",
      // Only creations are refused: edge/blocked exists already, its copy in the drill's namespace is refused.
      "object.metadata.name != 'blocked'",
      "no copies of blocked",
      "blocked",
    );
    try {
      const drill = await drillCommand(plane.context(), { namespace: "edge", timeout: "5m" });
      const text = drill.human(drill.data);
      expect(drill.data.pass).toBe(false);
      expect(drill.exitCode).toBe(1);
      expect(text).toMatch(
        /✗ DR drill FAILED for namespace edge on context admin@test: restore ended PartiallyFailed/,
      );
      expect(text).toMatch(/log {6}restore\.log: .*level=error.*no copies of blocked/);
      expect(readFileSync(join(drill.data.logs?.dir ?? "", "restore-results.json"), "utf8")).toContain(
        "no copies of blocked",
      );
      expect(drill.data.cleanedUp).toBe(true);
      expect(
        await plane.kubectl([
          "get",
          "namespace",
          drill.data.scratchNamespace,
          "--ignore-not-found",
          "-o",
          "name",
        ]),
      ).toBe("");
    } finally {
      await allowCopies();
      await plane.kubectl(["-n", "edge", "delete", "configmap", "blocked"]);
    }
  });

  for (const phase of [
    "Back up namespace",
    "Restore into scratch namespace",
    "Compare",
    "Clean up the drill",
  ]) {
    it(`Ctrl-C during "${phase}": exit 130, one line on what is left, and that line is true`, async () => {
      const run = startBuiltCli(["dr", "drill", "-n", "edge"], env());
      await run.waitFor(new RegExp(`==> Running phase: ${phase}`));
      run.child.kill("SIGINT");
      const started = Date.now();
      const end = await run.done;
      const seconds = (Date.now() - started) / 1000;
      const drills = async () => ({
        backups: (await names(plane, "backups")).filter((n) => n.startsWith("drill-edge-")),
        restores: (await names(plane, "restores")).filter((n) => n.startsWith("drill-edge-")),
        rules: (await names(plane, "configmaps")).filter((n) => n.startsWith("drill-edge-")),
        namespaces: (await plane.kubectl(["get", "namespaces", "-o", "name"]))
          .split("\n")
          .filter((n) => n.includes("edge-drill-")),
      });
      if (end.code !== 130) {
        // the drill finished before the signal arrived: then it cleaned up like any drill
        expect(end.code, end.stderr).toBe(0);
      } else {
        expect(seconds).toBeLessThan(10);
        const lines = errorLines(end.stderr);
        expect(lines).toEqual([
          expect.stringMatching(/^✗ dr drill interrupted during the (backup|restore|comparison|cleanup)/),
        ]);
        const leftLine = /left behind: (.*)$/.exec(lines[0] ?? "")?.[1];
        const hint = /^hint: remove what is left: (.*)$/m.exec(end.stderr)?.[1];
        if (leftLine) {
          expect(hint, end.stderr).toBeDefined();
          for (const command of (hint ?? "").split("; ")) {
            // a running backup cannot be deleted yet: wait for it to end, as the line says
            const backup = /infra backup delete (\S+)/.exec(command)?.[1];
            if (backup) {
              await untilPhase("backup", backup, /^(Completed|PartiallyFailed|Failed)$/);
              const del = await cli("backup", "delete", backup, "--yes", "--wait");
              expect(del.code, del.stdout + del.stderr).toBe(0);
            }
            const ns = /kubectl delete namespace (\S+)/.exec(command)?.[1];
            if (ns) await plane.kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=false"]);
            // on a slow API the node-port rules may not go within the interrupt's few seconds
            const rules = /kubectl -n (\S+) delete configmap (\S+)/.exec(command);
            if (rules?.[1] && rules[2])
              await plane.kubectl(["-n", rules[1], "delete", "configmap", rules[2], "--ignore-not-found"]);
          }
        } else expect(lines[0]).toContain("nothing is left behind");
      }
      // whatever it said was done is done (deletions run on in the background; a loaded Velero takes
      // over two minutes to act on a DeleteBackupRequest)
      await expect.poll(drills, { timeout: 180_000, interval: 1000, message: end.stderr }).toEqual({
        backups: [],
        restores: [],
        rules: [],
        namespaces: [],
      });
    });
  }
});

describe("RBAC as documented", () => {
  /** The roles of docs/disaster-recovery.md, applied as they are written there. */
  function documentedRoles(): Record<string, unknown>[] {
    const doc = readFileSync(join(PACKAGE_ROOT, "docs", "disaster-recovery.md"), "utf8");
    const section = doc.slice(doc.indexOf("## RBAC for the CLI"), doc.indexOf("## How this is tested"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    return parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, unknown>);
  }

  async function user(name: string, groups: string[]): Promise<CommandContext> {
    const roles = documentedRoles();
    const bindings = groups.flatMap((group) =>
      roles
        .filter((r) => (r.metadata as { name: string }).name === group)
        .map((r) => {
          const cluster = r.kind === "ClusterRole";
          return {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: cluster ? "ClusterRoleBinding" : "RoleBinding",
            metadata: { name: `${name}-${group}`, ...(cluster ? {} : { namespace: "velero" }) },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: r.kind, name: group },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name }],
          };
        }),
    );
    await plane.apply({ apiVersion: "v1", kind: "List", items: [...roles, ...bindings] });
    const kubeconfig = await plane.userKubeconfig(name);
    // the authorizer's cache takes the new bindings up within moments
    await expect
      .poll(async () =>
        (
          await exec("kubectl", [
            "--kubeconfig",
            kubeconfig,
            "auth",
            "can-i",
            "get",
            "backups.velero.io",
            "-n",
            "velero",
          ]).catch(() => ({ stdout: "no" }))
        ).stdout.trim(),
      )
      .toBe("yes");
    return plane.context({ kubeconfig });
  }

  it("each command group runs with exactly its documented roles", async () => {
    const roles = documentedRoles();
    expect(roles.map((r) => `${r.kind}/${(r.metadata as { name: string }).name}`)).toEqual(
      expect.arrayContaining([
        "ClusterRole/infra-backup-read",
        "Role/infra-backup-read",
        "Role/infra-backup-write",
      ]),
    );
    await createWorkload(plane, "small", 6);
    await backupCreateCommand(plane.context(), { name: "small-1", namespaces: ["small"], wait: true });

    const reader = await user("reader", ["infra-backup-read"]);
    await statusCommand(reader, {});
    await backupListCommand(reader, {});
    expect((await backupDescribeCommand(reader, { name: "small-1" })).data.completeness?.complete).toBe(true);
    expect((await backupLogsCommand(reader, { name: "small-1" })).data.log).toContain("Backed up a total of");

    const writer = await user("writer", ["infra-backup-read", "infra-backup-write"]);
    const made = await backupCreateCommand(writer, { name: "by-writer", namespaces: ["small"], wait: true });
    expect([made.data.phase, made.data.completeness?.unreadable]).toEqual(["Completed", []]);
    expect(
      (await backupDeleteCommand(writer, { name: "by-writer", yes: true, wait: true })).data.deleted,
    ).toBe(true);

    const restorer = await user("restorer", ["infra-backup-read", "infra-restore"]);
    const copied = await backupRestoreCommand(restorer, {
      name: "small-1",
      namespaceMapping: ["small:small-copy"],
      yes: true,
      wait: true,
    });
    expect(copied.data.phase).toBe("Completed");
    await plane.kubectl(["delete", "namespace", "small", "--wait=false"]);
    await waitGone(plane, "namespace", "small");
    const workload = await restoreWorkloadCommand(restorer, { app: "small", yes: true });
    expect(workload.data.missing).toEqual([]);

    const driller = await user("driller", ["infra-backup-read", "infra-drill"]);
    const drill = await drillCommand(driller, { namespace: "small" });
    expect([drill.data.pass, drill.data.cleanedUp, drill.data.failure]).toEqual([true, true, undefined]);

    const nodes = await user("node-operator", ["infra-backup-read", "infra-nodes"]);
    await registerNodes(plane, { "gone-1": false, "spare-1": true });
    await plane.apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "bare", namespace: "small-copy" },
      spec: { nodeName: "gone-1", containers: [{ name: "c", image: "registry.example/bare:1" }] },
    });
    const moved = await failoverCommand(nodes, { node: "gone-1", to: "spare-1", yes: true });
    expect(moved.exitCode ?? 0).toBe(0);
    const repo = join(plane.dir, "rbac-repo");
    await mkdir(join(repo, "ansible", "inventory"), { recursive: true });
    await writeFile(
      join(repo, "ansible", "inventory", "hosts.yml"),
      "k3s_cluster:\n  children:\n    k3s_workers:\n      hosts:\n        gone-1: {}\n        spare-1: {}\n",
    );
    const recovered = await nodeRecoveryCommand(
      { ...nodes, cwd: repo },
      { node: "gone-1", skipPlaybooks: true, yes: true },
    );
    expect(recovered.data.nodeObject).toBe("deleted");
  });
});
