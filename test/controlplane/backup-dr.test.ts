/**
 * Backup and DR commands against a real kube-apiserver + etcd, a real Velero server and a real
 * S3-compatible object store, all on loopback (see harness.ts). Commands run in-process through
 * their command functions; the exit-code checks run the real entry point.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import { backupCreateCommand } from "../../src/backup/create.js";
import { backupDeleteCommand } from "../../src/backup/delete.js";
import { backupDescribeCommand } from "../../src/backup/describe.js";
import { backupListCommand } from "../../src/backup/list.js";
import { backupLogsCommand } from "../../src/backup/logs.js";
import { backupRestoreCommand } from "../../src/backup/restore.js";
import { drillCommand } from "../../src/dr/drill.js";
import { failoverCommand } from "../../src/dr/failover.js";
import { nodeRecoveryCommand } from "../../src/dr/node-recovery.js";
import { restoreWorkloadCommand } from "../../src/dr/restore-workload.js";
import { statusCommand } from "../../src/dr/status.js";
import { API_WAIT } from "../helpers/timeouts.js";
import {
  createWorkload,
  essence,
  waitGone as gone,
  names,
  registerNodes,
  rejects,
  runCli,
  snapshot,
} from "./fixtures.js";
import { backupLocation, type ControlPlane, freePort, logTail, startControlPlane } from "./harness.js";

let plane: ControlPlane;
let failed = false;

const backupNames = () => names(plane, "backups");
const restoreNames = () => names(plane, "restores");

const waitGone = (kind: string, name: string, namespace?: string) => gone(plane, kind, name, namespace);

beforeAll(async () => {
  plane = await startControlPlane();
  await createWorkload(plane, "shop", 50);
  // Busy namespaces hold events (the API server's own repair loops write some here now and then);
  // backups carry them, restores never bring them back. One made here keeps that case deterministic.
  await plane.apply({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "svc-0.infra-test", namespace: "shop" },
    involvedObject: { apiVersion: "v1", kind: "Service", name: "svc-0", namespace: "shop" },
    reason: "InfraTest",
    message: "an event the backup holds and no restore brings back",
    type: "Normal",
  });
});

afterEach((context) => {
  if (context.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await plane?.stop(failed);
});

describe("backup round trip", () => {
  it("backs up 50 objects, loses the namespace, restores every object unchanged", async () => {
    const before = await snapshot(plane, "shop");
    expect(before.size).toBe(50);
    const lines: string[] = [];
    const created = await backupCreateCommand(plane.context({ lines }), {
      name: "shop-1",
      namespaces: ["shop"],
      wait: true,
      timeout: API_WAIT,
    });
    expect(created.exitCode ?? 0).toBe(0);
    expect(created.data.phase).toBe("Completed");
    expect(created.data.itemsBackedUp).toBe(created.data.totalItems);
    expect(created.data.itemsBackedUp).toBeGreaterThanOrEqual(50);
    expect(lines.some((l) => l.startsWith("backup shop-1:"))).toBe(true);
    const labels = JSON.parse(
      await plane.kubectl(["-n", "velero", "get", "backup", "shop-1", "-o", "jsonpath={.metadata.labels}"]),
    ) as Record<string, string>;
    expect(labels["app.kubernetes.io/created-by"]).toBe("infra-cli");
    // the bucket holds the backup under the location's prefix
    const objects = await exec("find", [plane.s3.root, "-path", "*backups/shop-1/*", "-type", "f"]);
    expect(objects.stdout).toContain("shop-1.tar.gz");

    await plane.kubectl(["delete", "namespace", "shop", "--wait=false"]);
    await waitGone("namespace", "shop");

    const restored = await backupRestoreCommand(plane.context(), {
      name: "shop-1",
      restoreName: "shop-1-restore",
      yes: true,
      wait: true,
      timeout: API_WAIT,
    });
    expect(restored.data.phase, await logTail(plane, "velero")).toBe("Completed");
    expect(restored.data.targetNamespaces).toEqual(["shop"]);
    const after = await snapshot(plane, "shop");
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, item] of before) {
      expect(essence(after.get(key) as Record<string, unknown>), key).toEqual(essence(item));
    }
  });

  it("agrees with the upstream velero client on phase and item counts", async () => {
    const described = await backupDescribeCommand(plane.context(), { name: "shop-1" });
    const upstream = await exec(plane.bin.velero, [
      "backup",
      "describe",
      "shop-1",
      "--kubeconfig",
      plane.kubeconfig,
      "--namespace",
      "velero",
    ]);
    const text = upstream.stdout.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
    const phase = /^Phase:\s+(\S+)/m.exec(text)?.[1];
    const items = /Items backed up:\s+(\d+)/.exec(text)?.[1];
    const total = /Total items to be backed up:\s+(\d+)/.exec(text)?.[1];
    expect(phase).toBe(described.data.phase);
    expect(Number(items)).toBe(described.data.itemsBackedUp);
    expect(Number(total)).toBe(described.data.totalItems);
    expect(described.data.restores.map((r) => r.name)).toContain("shop-1-restore");
  });

  it("lists backups with phase and items, and prints the backup log", async () => {
    await plane.apply({
      apiVersion: "velero.io/v1",
      kind: "Schedule",
      metadata: { name: "daily", namespace: "velero" },
      spec: {
        schedule: "0 3 * * *",
        paused: true,
        template: { includedNamespaces: ["*"], ttl: "720h0m0s" },
      },
    });
    const list = await backupListCommand(plane.context(), {});
    expect(list.data.schedules).toEqual([
      expect.objectContaining({ name: "daily", schedule: "0 3 * * *", paused: true, lastBackup: undefined }),
    ]);
    const row = list.data.backups.find((b) => b.name === "shop-1");
    expect(row?.phase).toBe("Completed");
    expect(row?.totalItems).toBeGreaterThanOrEqual(50);
    expect(list.data.locations).toEqual([
      expect.objectContaining({ name: "default", phase: "Available", default: true }),
    ]);
    expect(list.human(list.data)).toMatch(/shop-1\s+Completed/);
    const logs = await backupLogsCommand(plane.context(), { name: "shop-1" });
    expect(logs.data.log).toContain("Backed up a total of");
    const restoreLog = await backupLogsCommand(plane.context(), { name: "shop-1-restore", restore: true });
    expect(restoreLog.data.log).toContain("restore completed");
  });

  it("refuses to restore into a namespace that holds objects, and changes nothing", async () => {
    const restoresBefore = await restoreNames();
    const error = await rejects(
      backupRestoreCommand(plane.context(), { name: "shop-1", yes: true, wait: true }),
    );
    expect(error.code).toBe("RESTORE_TARGET_NOT_EMPTY");
    expect(error.hint).toContain("--namespace-mapping shop:shop-restored");
    expect(await restoreNames()).toEqual(restoresBefore);
    // a dry run validates against the API server and creates nothing either
    const dry = await backupRestoreCommand(plane.context(), {
      name: "shop-1",
      namespaceMapping: ["shop:shop-copy"],
      dryRun: true,
    });
    expect(dry.data.dryRun).toBe(true);
    expect(dry.data.targetNamespaces).toEqual(["shop-copy"]);
    expect(await restoreNames()).toEqual(restoresBefore);
  });

  it("runs a DR drill end to end and cleans up after itself", async () => {
    const backupsBefore = await backupNames();
    const drill = await drillCommand(plane.context(), { namespace: "shop", timeout: API_WAIT });
    expect(drill.data.failure, JSON.stringify(drill.data.comparison?.different)).toBeUndefined();
    expect(drill.data.pass).toBe(true);
    expect(drill.data.comparison?.compared).toBeGreaterThanOrEqual(50);
    expect(drill.data.comparison?.missing).toEqual([]);
    expect(drill.data.comparison?.different).toEqual([]);
    expect(drill.data.rtoSeconds).toBeGreaterThan(0);
    expect(drill.data.cleanedUp).toBe(true);
    expect(drill.human(drill.data)).toContain("DR drill PASSED");
    const namespaces = await plane.kubectl(["get", "namespaces", "-o", "name"]);
    expect(namespaces).not.toContain(drill.data.scratchNamespace);
    expect(await backupNames()).toEqual(backupsBefore);
  });

  it("restores one workload from the latest backup that holds it", async () => {
    await plane.kubectl(["delete", "namespace", "shop", "--wait=false"]);
    await waitGone("namespace", "shop");
    const restoresBefore = await restoreNames();
    const dry = await restoreWorkloadCommand(plane.context(), { app: "shop", dryRun: true });
    expect(dry.data).toMatchObject({ dryRun: true, backup: "shop-1" });
    expect(dry.data.unchecked).toBeGreaterThanOrEqual(1); // ours, and any the API server wrote
    expect(dry.human(dry.data)).toMatch(
      /^Dry run: would restore shop from backup shop-1 .* nothing changed\.$/,
    );
    expect(await restoreNames()).toEqual(restoresBefore);
    const result = await restoreWorkloadCommand(plane.context(), {
      app: "shop",
      yes: true,
      timeout: API_WAIT,
    });
    expect(result.data.expected).toBe(dry.data.expected);
    expect(result.data.backup).toBe("shop-1");
    expect(result.data.missing).toEqual([]);
    expect(result.data.unchecked).toBeGreaterThanOrEqual(1);
    expect(result.human(result.data)).toMatch(/not checked: \d+ events/);
    expect(result.data.present).toBe(result.data.expected);
    expect(result.data.expected).toBeGreaterThanOrEqual(50);
  });

  it("deletes a backup through a DeleteBackupRequest, data included", async () => {
    await createWorkload(plane, "scratch", 4);
    await backupCreateCommand(plane.context(), {
      name: "to-delete",
      namespaces: ["scratch"],
      wait: true,
      timeout: API_WAIT,
    });
    const dry = await backupDeleteCommand(plane.context(), { name: "to-delete", dryRun: true });
    expect(dry.data.deleted).toBe(false);
    expect(await backupNames()).toContain("to-delete");
    const refused = await rejects(backupDeleteCommand(plane.context(), { name: "to-delete" }));
    expect(refused.code).toBe("CONFIRMATION_REQUIRED");
    const lines: string[] = [];
    const deleted = await backupDeleteCommand(plane.context({ lines }), {
      name: "to-delete",
      yes: true,
      wait: true,
      timeout: API_WAIT,
    });
    expect(deleted.data.deleted).toBe(true);
    expect(deleted.data.request).toMatch(/^to-delete-/);
    expect(lines).toContain(`backup to-delete: deletion requested (${deleted.data.request})`);
    expect(await backupNames()).not.toContain("to-delete");
    const left = await exec("find", [plane.s3.root, "-path", "*backups/to-delete*"]);
    expect(left.stdout.trim()).toBe("");
  });
});

describe("failures are reported honestly", () => {
  it("an unknown backup name: one line, a next step, exit 1, nothing changed", async () => {
    const error = await rejects(backupDescribeCommand(plane.context(), { name: "nope" }));
    expect(error.code).toBe("BACKUP_NOT_FOUND");
    const restoresBefore = await restoreNames();
    const run = await runCli(
      // --example: this checkout has no cluster.yaml, and writes refuse the example otherwise
      ["backup", "restore", "nope", "--yes", "--example", "--kubeconfig", plane.kubeconfig],
      process.env,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('there is no backup "nope"');
    expect(run.stderr).toContain("hint: list the backups with `infra backup list`");
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await restoreNames()).toEqual(restoresBefore);
  });

  it("a failed backup: its phase and validation errors; not restorable; no log", async () => {
    await plane.apply({
      apiVersion: "velero.io/v1",
      kind: "Backup",
      metadata: { name: "broken", namespace: "velero" },
      spec: { includedNamespaces: ["shop"], storageLocation: "no-such-location" },
    });
    const lines: string[] = [];
    const { waitForBackup } = await import("../../src/backup/progress.js");
    const { Velero } = await import("../../src/backup/velero.js");
    const { connect } = await import("../../src/kube/client.js");
    const velero = new Velero(
      await connect({ kubeconfig: plane.kubeconfig }, process.env, plane.dir),
      "velero",
    );
    const final = await waitForBackup(plane.context({ lines }), velero, "broken", 60_000);
    expect(final.status?.phase).toBe("FailedValidation");
    const described = await backupDescribeCommand(plane.context(), { name: "broken" });
    expect(described.data.state).toBe("failed");
    expect(described.data.validationErrors.join(" ")).toContain("no-such-location");
    expect(described.human(described.data)).toContain("Validation:");
    const notRestorable = await rejects(backupRestoreCommand(plane.context(), { name: "broken", yes: true }));
    expect(notRestorable.code).toBe("BACKUP_NOT_RESTORABLE");
    const noLog = await rejects(backupLogsCommand(plane.context(), { name: "broken" }));
    expect(noLog.code).toBe("LOG_NOT_FOUND");
  });

  it("an unreachable API server: one line with the address, exit 1", async () => {
    const port = await freePort();
    const kubeconfig = `${plane.dir}/unreachable.kubeconfig`;
    const text = (await import("node:fs"))
      .readFileSync(plane.kubeconfig, "utf8")
      .replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
    (await import("node:fs")).writeFileSync(kubeconfig, text);
    const error = await rejects(backupListCommand(plane.context({ kubeconfig }), {}));
    expect(error.code).toBe("KUBE_UNREACHABLE");
    expect(error.message).toContain(`127.0.0.1:${port}`);
    const run = await runCli(["backup", "list", "--kubeconfig", kubeconfig], process.env);
    expect(run.code).toBe(1);
    expect(run.stderr.split("\n").filter((l) => l.startsWith("✗"))).toHaveLength(1);
    expect(run.stderr).toContain("hint: check that Tailscale is up");
  });

  it("a wrong kubeconfig or context", async () => {
    const missing = await rejects(
      backupListCommand(plane.context({ kubeconfig: `${plane.dir}/none.kubeconfig` }), {}),
    );
    expect(missing.code).toBe("KUBECONFIG_NOT_FOUND");
    const context = await rejects(backupListCommand(plane.context(), { context: "prod" }));
    expect(context.code).toBe("KUBE_CONTEXT_NOT_FOUND");
    expect(context.hint).toContain("admin@test");
  });

  it("forbidden by RBAC: names the missing permission, creates nothing", async () => {
    const kubeconfig = await plane.userKubeconfig("viewer");
    await plane.apply({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "backup-reader", namespace: "velero" },
          rules: [
            {
              apiGroups: ["velero.io"],
              resources: ["backups", "backupstoragelocations", "schedules", "restores"],
              verbs: ["get", "list", "watch"],
            },
          ],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "viewer-backup-reader", namespace: "velero" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "backup-reader" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "viewer" }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRole",
          metadata: { name: "namespace-reader" },
          rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list"] }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: "viewer-namespaces" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "namespace-reader" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "viewer" }],
        },
      ],
    });
    // reading works with the narrow role...
    await expect
      .poll(
        async () => {
          try {
            const listed = await backupListCommand(plane.context({ kubeconfig }), {});
            return listed.data.backups.length > 0 ? "listed" : "empty";
          } catch (error) {
            return (error as Error).message;
          }
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe("listed");
    // ...creating does not, and nothing is created
    const before = await backupNames();
    const error = await rejects(
      backupCreateCommand(plane.context({ kubeconfig }), { name: "not-allowed", namespaces: ["shop"] }),
    );
    expect(error.code).toBe("KUBE_FORBIDDEN");
    expect(error.message).toContain('cannot create resource "backups"');
    expect(await backupNames()).toEqual(before);
  });

  it("an unavailable backup location: refused before anything is created", async () => {
    await plane.apply(backupLocation(plane, "broken", { bucket: "no-such-bucket" }));
    await expect
      .poll(
        async () =>
          plane.kubectl([
            "-n",
            "velero",
            "get",
            "backupstoragelocation",
            "broken",
            "-o",
            "jsonpath={.status.phase}",
          ]),
        { timeout: 90_000, interval: 1000 },
      )
      .toBe("Unavailable");
    const before = await backupNames();
    const error = await rejects(
      backupCreateCommand(plane.context(), {
        name: "nowhere",
        namespaces: ["shop"],
        storageLocation: "broken",
      }),
    );
    expect(error.code).toBe("BSL_UNAVAILABLE");
    expect(await backupNames()).toEqual(before);
  });
});

describe("nodes", () => {
  it("fails a dead node over: cordon, out-of-service taint, its pods moved", async () => {
    await registerNodes(plane, { "dead-1": false, "alive-1": true });
    await plane.kubectl(["create", "namespace", "apps"]);
    // pods need the namespace's default ServiceAccount, which the controller-manager creates
    await expect
      .poll(async () =>
        plane.kubectl(["-n", "apps", "get", "serviceaccount", "default", "--ignore-not-found", "-o", "name"]),
      )
      .toContain("default");
    await plane.apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "bare", namespace: "apps", labels: { app: "bare" } },
      spec: { nodeName: "dead-1", containers: [{ name: "c", image: "registry.example/bare:1" }] },
    });
    const dry = await failoverCommand(plane.context(), { node: "dead-1", to: "alive-1", dryRun: true });
    expect(dry.data.pods).toEqual([expect.objectContaining({ name: "bare", action: "recreated" })]);
    expect(await plane.kubectl(["get", "node", "dead-1", "-o", "jsonpath={.spec.unschedulable}"])).toBe("");

    const healthy = await rejects(failoverCommand(plane.context(), { node: "alive-1", yes: true }));
    expect(healthy.code).toBe("NODE_READY");

    const done = await failoverCommand(plane.context(), { node: "dead-1", to: "alive-1", yes: true });
    expect(done.exitCode ?? 0).toBe(0);
    expect(await plane.kubectl(["get", "node", "dead-1", "-o", "jsonpath={.spec.unschedulable}"])).toBe(
      "true",
    );
    expect(await plane.kubectl(["get", "node", "dead-1", "-o", "jsonpath={.spec.taints[*].key}"])).toContain(
      "node.kubernetes.io/out-of-service",
    );
    expect(await plane.kubectl(["-n", "apps", "get", "pod", "bare", "-o", "jsonpath={.spec.nodeName}"])).toBe(
      "alive-1",
    );
  });

  it("node recovery: refuses a Ready node, removes the stale Node object of a dead one", async () => {
    const repo = join(plane.dir, "repo");
    await mkdir(join(repo, "ansible", "inventory"), { recursive: true });
    await writeFile(
      join(repo, "ansible", "inventory", "hosts.yml"),
      "k3s_cluster:\n  children:\n    k3s_masters:\n      hosts:\n        srv-1: {}\n        dead-1: {}\n    k3s_workers:\n      hosts:\n        alive-1: {}\n",
    );
    const ctx = { ...plane.context(), cwd: repo };
    const ready = await rejects(
      nodeRecoveryCommand(ctx, { node: "alive-1", skipPlaybooks: true, yes: true }),
    );
    expect(ready.code).toBe("NODE_READY");
    const unknown = await rejects(nodeRecoveryCommand(ctx, { node: "ghost", yes: true }));
    expect(unknown.code).toBe("NODE_NOT_IN_INVENTORY");
    const dry = await nodeRecoveryCommand(ctx, { node: "dead-1", dryRun: true });
    expect(dry.data.role).toBe("server");
    expect(dry.data.steps.join("\n")).toContain("bootstrap.yml, then k3s-master.yml --limit dead-1");
    expect(await plane.kubectl(["get", "node", "dead-1", "-o", "name"])).toContain("dead-1");
    const done = await nodeRecoveryCommand(ctx, { node: "dead-1", skipPlaybooks: true, yes: true });
    expect(done.data.nodeObject).toBe("deleted");
    expect(await plane.kubectl(["get", "node", "dead-1", "--ignore-not-found", "-o", "name"])).toBe("");
    const status = await statusCommand(plane.context(), {});
    expect(status.data.nodes.map((n) => n.name)).toEqual(["alive-1"]);
    expect(status.data.backups).toEqual(expect.objectContaining({ lastCompleted: expect.anything() }));
  });
});

describe("Velero missing", () => {
  it("says Velero is not installed when its API is absent", async () => {
    await plane.stopVelero();
    // restores carry a finalizer only the (now stopped) Velero server removes
    for (const restore of await restoreNames()) {
      await plane.kubectl([
        "-n",
        "velero",
        "patch",
        "restore",
        restore,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
      ]);
    }
    await plane.kubectl(["delete", "crd", "-l", "component=velero", "--wait=true"]);
    const error = await rejects(backupListCommand(plane.context(), {}));
    expect(error.code).toBe("VELERO_NOT_INSTALLED");
    expect(error.hint).toContain("velero");
  });
});
