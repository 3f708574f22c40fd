import { describe, expect, it } from "vitest";
import { parseMapping } from "../../src/backup/restore.js";
import { backupPhaseState, isTerminal, restorePhaseState, timestampSuffix } from "../../src/backup/velero.js";
import { compareNamespaces, normalize } from "../../src/dr/compare.js";
import type { InventoryItem } from "../../src/kube/inventory.js";
import { formatSelector, parseSelector } from "../../src/kube/selector.js";
import { goDuration, parseDuration } from "../../src/kube/wait.js";

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

  it("parses namespace mappings", () => {
    expect(parseMapping(["shop:shop-restored", "a:b"])).toEqual({ shop: "shop-restored", a: "b" });
    expect(() => parseMapping(["shop"])).toThrow(/source:target/);
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
    expect(result).toEqual({ compared: 1, matched: 1, skippedOwned: 0, missing: [], different: [] });
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
