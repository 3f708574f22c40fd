import { describe, expect, it } from "vitest";
import { compareWithBackup } from "../../src/backup/completeness.js";
import { assessBackups, parseSchedule } from "../../src/backup/health.js";
import { parseMapping, parsePolicy } from "../../src/backup/restore.js";
import { refuseUnsafeTargets } from "../../src/backup/targets.js";
import type { Backup, BackupStorageLocation, Schedule } from "../../src/backup/velero.js";
import { backupPhaseState, isTerminal, restorePhaseState, timestampSuffix } from "../../src/backup/velero.js";
import { compareNamespaces, normalize } from "../../src/dr/compare.js";
import { nodePortRules } from "../../src/dr/drill.js";
import type { InfraError } from "../../src/errors.js";
import type { InventoryItem } from "../../src/kube/inventory.js";
import { formatSelector, parseSelector } from "../../src/kube/selector.js";
import { durationOption, goDuration, parseDuration } from "../../src/kube/wait.js";

describe("Velero phases", () => {
  it("knows every v1.18 backup phase and treats unknown ones as not terminal", () => {
    expect(backupPhaseState("Queued")).toBe("pending");
    expect(backupPhaseState("ReadyToStart")).toBe("pending");
    expect(backupPhaseState("WaitingForPluginOperationsPartiallyFailed")).toBe("running");
    expect(backupPhaseState("FinalizingPartiallyFailed")).toBe("running");
    expect(backupPhaseState("FailedValidation")).toBe("failed");
    expect(backupPhaseState("PartiallyFailed")).toBe("partially-failed");
    expect(backupPhaseState(undefined)).toBe("pending");
    expect(backupPhaseState("Hibernating")).toBe("unknown");
    expect(isTerminal(backupPhaseState("Hibernating"))).toBe(false);
    expect(isTerminal(backupPhaseState("Completed"))).toBe(true);
    expect(restorePhaseState("Finalizing")).toBe("running");
    expect(isTerminal(restorePhaseState("Failed"))).toBe(true);
  });

  it("generates sortable UTC name suffixes", () => {
    expect(timestampSuffix(new Date("2026-01-31T23:59:58.123Z"))).toBe("20260131-235958");
  });
});

describe("options", () => {
  it("parses Go durations", () => {
    expect(parseDuration("720h0m0s")).toBe(720 * 3_600_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("2 days")).toBeUndefined();
    expect(goDuration(parseDuration("36h") ?? 0)).toBe("36h0m0s");
  });

  it("refuses a duration flag below its minimum, naming the flag", () => {
    expect(durationOption("--drain-timeout", "1s", { minMs: 1000 })).toBe(1000);
    expect(() => durationOption("--drain-timeout", "0", { minMs: 1000 })).toThrow(
      expect.objectContaining({
        code: "INVALID_DURATION",
        exitCode: 2,
        message: '"0" is too short: at least 1s',
        location: { path: "--drain-timeout" },
      }),
    );
    expect(durationOption("--timeout", "0")).toBe(0);
  });

  it("parses label selectors like kubectl", () => {
    const s = parseSelector("app=web,tier in (a, b),!legacy,env!=dev,team");
    expect(s.matchLabels).toEqual({ app: "web" });
    expect(s.matchExpressions).toEqual([
      { key: "tier", operator: "In", values: ["a", "b"] },
      { key: "legacy", operator: "DoesNotExist" },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "team", operator: "Exists" },
    ]);
    expect(formatSelector(s)).toBe("app=web,tier in (a,b),!legacy,env notin (dev),team");
    expect(() => parseSelector("app=")).not.toThrow();
    expect(() => parseSelector("=web")).toThrow(/cannot parse|not a valid/);
    expect(() => parseSelector("a=b,,c")).toThrow(/empty term/);
  });

  it("parses namespace mappings: namespace names on both sides, each mapped once, exit 2 otherwise", () => {
    expect(parseMapping(["shop:shop-restored", "a:b"])).toEqual({ shop: "shop-restored", a: "b" });
    const bad = (entry: string[]) => {
      try {
        parseMapping(entry);
      } catch (error) {
        return [(error as InfraError).code, (error as InfraError).exitCode];
      }
      return undefined;
    };
    expect(bad(["shop"])).toEqual(["INVALID_MAPPING", 2]);
    expect(bad(["shop:Shop_Copy"])).toEqual(["INVALID_NAMESPACE_NAME", 2]);
    expect(bad(["shop:copy-"])).toEqual(["INVALID_NAMESPACE_NAME", 2]);
    expect(bad([`shop:${"a".repeat(64)}`])).toEqual(["INVALID_NAMESPACE_NAME", 2]);
    expect(bad(["shop:a:b"])).toEqual(["INVALID_MAPPING", 2]);
    expect(bad(["shop:a", "shop:b"])).toEqual(["INVALID_MAPPING", 2]);
    expect(bad(["shop:x", "blog:x"])).toEqual(["INVALID_MAPPING", 2]);
    expect(() => parsePolicy("overwrite")).toThrow(/not none or update/);
    expect(parsePolicy(undefined)).toBe("none");
  });
});

describe("drill comparison", () => {
  const item = (kind: string, name: string, object: Record<string, unknown>): InventoryItem => ({
    apiVersion: "v1",
    kind,
    plural: `${kind.toLowerCase()}s`,
    name,
    object: { apiVersion: "v1", kind, metadata: { name, ...(object.metadata as object) }, ...object },
  });

  it("ignores what the API server and Velero set anew, and maps the namespace", () => {
    const source = item("Service", "web", {
      metadata: { namespace: "shop", uid: "1", resourceVersion: "5" },
      spec: {
        clusterIP: "10.43.0.10",
        clusterIPs: ["10.43.0.10"],
        ports: [{ port: 80 }],
        selector: { app: "web" },
      },
    });
    const target = item("Service", "web", {
      metadata: {
        namespace: "shop-drill",
        uid: "2",
        resourceVersion: "9",
        labels: { "velero.io/backup-name": "b", "velero.io/restore-name": "r" },
      },
      spec: {
        clusterIP: "10.43.0.99",
        clusterIPs: ["10.43.0.99"],
        ports: [{ port: 80 }],
        selector: { app: "web" },
      },
    });
    expect(normalize(source.object)).toEqual(normalize(target.object));
    const result = compareNamespaces([source], [target], "shop", "shop-drill");
    expect(result).toEqual({
      compared: 1,
      matched: 1,
      missing: [],
      different: [],
      expected: [],
      notCompared: [],
    });
  });

  it("reports missing and changed objects with the differing paths", () => {
    const a = item("ConfigMap", "a", { data: { k: "1" } });
    const b = item("ConfigMap", "b", { data: { k: "1" } });
    const changed = item("ConfigMap", "a", { data: { k: "2" } });
    const result = compareNamespaces([a, b], [changed], "x", "y");
    expect(result.missing).toEqual(["ConfigMap/b"]);
    expect(result.different).toEqual([{ object: "ConfigMap/a", paths: [".data.k"] }]);
  });
});

describe("drill comparison coverage", () => {
  const obj = (kind: string, name: string, extra: Record<string, unknown> = {}, apiVersion = "v1") => ({
    apiVersion,
    kind,
    plural: `${kind.toLowerCase()}s`,
    name,
    object: { apiVersion, kind, ...extra, metadata: { name, ...((extra.metadata as object) ?? {}) } },
  });

  it("names dropped ownerReferences and re-assigned node ports as expected differences", () => {
    const owned = obj("ConfigMap", "child", {
      metadata: { ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "parent", uid: "u1" }] },
      data: { a: "1" },
    });
    const restored = obj("ConfigMap", "child", { data: { a: "1" } });
    const svc = obj("Service", "np", { spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] } });
    const svcCopy = obj("Service", "np", {
      spec: { type: "NodePort", ports: [{ port: 80, nodePort: 31999 }] },
    });
    const r = compareNamespaces([owned, svc], [restored, svcCopy], "a", "b", { nodePortsReassigned: true });
    expect(r.matched).toBe(2);
    expect(r.expected.map((e) => e.object)).toEqual(["ConfigMap/child", "Service/np"]);
    expect(r.expected[0]?.what).toContain("ownerReferences to ConfigMap/parent dropped");
  });

  it("compares hand-made Endpoints, EndpointSlices, Leases and the default ServiceAccount; names what it leaves out", () => {
    const selectorless = obj("Service", "db", { spec: { ports: [{ port: 5432 }] } });
    const withSelector = obj("Service", "web", { spec: { selector: { app: "web" }, ports: [{ port: 80 }] } });
    const handEndpoints = obj("Endpoints", "db", { subsets: [{ addresses: [{ ip: "10.0.0.5" }] }] });
    const controllerEndpoints = obj("Endpoints", "web", { subsets: [] });
    const lease = obj(
      "Lease",
      "leader",
      { spec: { holderIdentity: "a", renewTime: "t1" } },
      "coordination.k8s.io/v1",
    );
    const leaseCopy = obj(
      "Lease",
      "leader",
      { spec: { holderIdentity: "a", renewTime: "t2" } },
      "coordination.k8s.io/v1",
    );
    const sa = obj("ServiceAccount", "default", { imagePullSecrets: [{ name: "regcred" }] });
    const saCopy = obj("ServiceAccount", "default", {});
    const rootCa = obj("ConfigMap", "kube-root-ca.crt", { data: { "ca.crt": "x" } });
    const r = compareNamespaces(
      [selectorless, withSelector, handEndpoints, controllerEndpoints, lease, sa, rootCa],
      [selectorless, withSelector, handEndpoints, leaseCopy, saCopy],
      "a",
      "b",
    );
    expect(r.different).toEqual([{ object: "ServiceAccount/default", paths: [".imagePullSecrets"] }]);
    expect(r.missing).toEqual([]);
    expect(r.notCompared.map((n) => n.object)).toEqual(["Endpoints/web", "ConfigMap/kube-root-ca.crt"]);
    expect(r.matched).toBe(4);
  });

  it("gives a scratch copy of a Service with node ports a merge patch without them", () => {
    const svc = obj("Service", "np", {
      spec: {
        type: "LoadBalancer",
        healthCheckNodePort: 32000,
        ports: [{ name: "http", port: 80, nodePort: 30080 }],
      },
    });
    const plain = obj("Service", "plain", { spec: { ports: [{ port: 80 }] } });
    const rules = nodePortRules([svc, plain], "shop") as {
      resourceModifierRules: {
        conditions: { resourceNameRegex: string; namespaces: string[] };
        mergePatches: { patchData: string }[];
      }[];
    };
    expect(rules.resourceModifierRules).toHaveLength(1);
    const rule = rules.resourceModifierRules[0];
    expect(rule?.conditions).toMatchObject({ resourceNameRegex: "^np$", namespaces: ["shop"] });
    expect(JSON.parse(rule?.mergePatches[0]?.patchData ?? "")).toEqual({
      spec: { ports: [{ name: "http", port: 80 }], healthCheckNodePort: null },
    });
    expect(nodePortRules([plain], "shop")).toBeUndefined();
  });
});

describe("backup completeness", () => {
  it("finds types with live objects the backup lacks, by group and kind", () => {
    const scan = {
      present: [
        { type: "v1/ConfigMap", example: "big/c-0" },
        { type: "apps/v1/Deployment", example: "big/web" },
        { type: "example.com/v1/Widget", example: "big/w-0" },
      ],
      unreadable: [],
      checkedTypes: 12,
    };
    const held = [
      { type: "v1/ConfigMap", ref: "big/c-0" },
      { type: "apps/v1beta9/Deployment", ref: "big/web" },
      { type: "example.com/v1/Widget", ref: "w-cluster" }, // cluster-scoped: not the namespaced kind
    ];
    const result = compareWithBackup(scan, held);
    expect(result.complete).toBe(false);
    expect(result.missing).toEqual([{ type: "example.com/v1/Widget", example: "big/w-0" }]);
    expect(
      compareWithBackup(scan, [...held, { type: "example.com/v1/Widget", ref: "big/w-0" }]).complete,
    ).toBe(true);
  });
});

describe("RPO", () => {
  const now = new Date("2026-12-05T12:00:00Z");
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const H = 3_600_000;
  const schedule = (name: string, cron: string, extra: Partial<Schedule["spec"]> = {}): Schedule => ({
    metadata: { name, creationTimestamp: ago(30 * 24 * H) },
    spec: { schedule: cron, ...extra },
    status: { phase: "Enabled" },
  });
  const backup = (
    name: string,
    phase: string,
    createdAgo: number,
    sched?: string,
    startedAgo?: number,
  ): Backup => ({
    metadata: {
      name,
      creationTimestamp: ago(createdAgo),
      labels: sched ? { "velero.io/schedule-name": sched } : {},
    },
    spec: {},
    status: { phase, ...(startedAgo === undefined ? {} : { startTimestamp: ago(startedAgo) }) },
  });
  const location = (validatedAgo: number, phase = "Available"): BackupStorageLocation => ({
    metadata: { name: "default" },
    spec: { provider: "aws", objectStorage: { bucket: "b" } },
    status: { phase, lastValidationTime: ago(validatedAgo) },
  });

  it("reads Velero's schedule strings", () => {
    expect(parseSchedule("0 3 * * *", now)?.periodMs).toBe(24 * H);
    expect(parseSchedule("@every 6h", now)?.periodMs).toBe(6 * H);
    expect(parseSchedule("CRON_TZ=Europe/Berlin 0 * * * *", now)?.periodMs).toBe(H);
    expect(parseSchedule("0 3 * *", now)).toBeUndefined();
    expect(parseSchedule("0 3 * * *", now)?.previous(now).toISOString()).toBe("2026-12-05T03:00:00.000Z");
  });

  it("is quiet when every schedule succeeded within its period", () => {
    const h = assessBackups({
      backups: [
        backup("daily-1", "Completed", 9 * H, "daily"),
        backup("hourly-1", "Completed", 0.5 * H, "hourly"),
      ],
      schedules: [schedule("daily", "0 3 * * *"), schedule("hourly", "0 * * * *")],
      locations: [location(30_000)],
      now,
      maxBackupDurationMs: H,
    });
    expect(h.findings).toEqual([]);
    expect(h.schedules.map((s) => [s.name, s.behind, s.lastSuccess?.name])).toEqual([
      ["daily", false, "daily-1"],
      ["hourly", false, "hourly-1"],
    ]);
  });

  it("flags a schedule past its period, a stuck backup, a queue that does not move and a stale location", () => {
    const h = assessBackups({
      backups: [
        backup("daily-old", "Completed", 33 * H, "daily"),
        backup("daily-new", "InProgress", 9 * H, "daily", 9 * H),
        backup("manual", "Queued", 3 * H),
      ],
      schedules: [schedule("daily", "0 3 * * *"), schedule("paused", "0 3 * * *", { paused: true })],
      locations: [location(20 * 60_000)],
      now,
      maxBackupDurationMs: H,
    });
    const text = h.findings.map((f) => `${f.severity} ${f.subject}: ${f.message}`);
    expect(text).toEqual([
      expect.stringMatching(
        /^error schedule daily: last successful backup daily-old is 33h00m old; it runs every 24h00m/,
      ),
      expect.stringMatching(/^error schedule paused: no successful backup yet/),
      "warning schedule paused: is paused: it makes no backups",
      expect.stringMatching(/^error backup daily-new: has been InProgress for 9h/),
      expect.stringMatching(/^error backup manual: has waited 3h00m to start .* behind daily-new/),
      expect.stringMatching(
        /^error location default: status "Available" is stale: Velero last validated it 20m/,
      ),
    ]);
  });

  it("flags a schedule whose every backup failed at once, before a period has passed", () => {
    const h = assessBackups({
      backups: [backup("s-1", "FailedValidation", 60_000, "s")],
      schedules: [{ ...schedule("s", "0 3 * * *"), metadata: { name: "s", creationTimestamp: ago(60_000) } }],
      locations: [location(10_000)],
      now,
      maxBackupDurationMs: H,
    });
    expect(h.findings.map((f) => f.message)).toEqual([
      "no successful backup yet (latest: s-1 FailedValidation)",
    ]);
  });
});

describe("restore targets", () => {
  const t = (target: string, sample: string[] = []) => ({
    source: target,
    target,
    exists: true,
    terminating: false,
    sample,
  });
  const code = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      return [(error as InfraError).code, (error as InfraError).hint];
    }
    return undefined;
  };
  it("refuses non-empty targets, and suggests --whole-cluster when only system namespaces hold objects", () => {
    const opts = { allowNonEmpty: false, keepSystem: false, veleroNamespace: "velero" };
    expect(code(() => refuseUnsafeTargets([t("shop", ["ConfigMap/a"])], opts))?.[1]).toContain(
      "--namespace-mapping shop:shop-restored",
    );
    expect(
      code(() => refuseUnsafeTargets([t("default", ["Service/kubernetes"]), t("shop")], opts))?.[1],
    ).toContain("--whole-cluster");
    expect(
      code(() =>
        refuseUnsafeTargets([t("default", ["Service/kubernetes"]), t("shop")], { ...opts, keepSystem: true }),
      ),
    ).toBeUndefined();
    expect(
      code(() => refuseUnsafeTargets([t("shop", ["ConfigMap/a"])], { ...opts, allowNonEmpty: true })),
    ).toBeUndefined();
  });
});
