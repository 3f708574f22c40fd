import type { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assess, daysLeft } from "../../../src/dr/certificates.js";
import { etcdMembers } from "../../../src/dr/etcd-health.js";
import { folderPrefix, pickSnapshot, snapshotFromObject } from "../../../src/dr/etcd-snapshots.js";
import { FLANNEL_ANNOTATION, meshStatus } from "../../../src/dr/mesh-health.js";
import type { NodeObject } from "../../../src/dr/status.js";
import { selectorMatches } from "../../../src/kube/selector.js";

describe("etcd snapshot objects as K3s writes them", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  it.each([
    [
      "etcd/etcd-snapshot-s1-1764000000",
      10,
      { name: "etcd-snapshot-s1-1764000000", createdAt: "2025-11-24T16:00:00.000Z", compressed: false },
    ],
    [
      "etcd/on-demand-s-1-2-1764000000.zip",
      10,
      { name: "on-demand-s-1-2-1764000000.zip", createdAt: "2025-11-24T16:00:00.000Z", compressed: true },
    ],
    [
      "etcd/custom-name",
      10,
      { name: "custom-name", createdAt: "2026-01-01T00:00:00.000Z", compressed: false },
    ],
    ["etcd/.metadata/etcd-snapshot-s1-1764000000", 10, undefined],
    ["etcd/etcd-snapshot-s1-1764000001", 0, undefined],
    ["etcd-other/etcd-snapshot-s1-1764000000", 10, undefined],
  ])("%s (%d bytes)", (key, size, expected) => {
    const found = snapshotFromObject(folderPrefix("etcd"), { key, size, lastModified: at });
    expect(
      found === undefined
        ? undefined
        : { name: found.name, createdAt: found.createdAt, compressed: found.compressed },
    ).toEqual(expected);
  });

  it("picks the newest by default and names the newest when a name is unknown", () => {
    const list = [
      {
        name: "b-s1-2",
        key: "etcd/b-s1-2",
        size: 1,
        node: "s1",
        createdAt: "2026-01-02T00:00:00.000Z",
        compressed: false,
      },
      {
        name: "a-s1-1",
        key: "etcd/a-s1-1",
        size: 1,
        node: "s1",
        createdAt: "2026-01-01T00:00:00.000Z",
        compressed: false,
      },
    ];
    expect(pickSnapshot(list, undefined).name).toBe("b-s1-2");
    expect(() => pickSnapshot(list, "zzz")).toThrow(/there is no etcd snapshot "zzz"/);
    expect(() => pickSnapshot([], undefined)).toThrow(/holds no etcd snapshot/);
  });
});

describe("health readings", () => {
  it("certificates: days left and the warning under 90 days", () => {
    // a self-signed certificate is not needed: assess reads validTo only
    const cert = { validTo: "Jan 11 00:00:00 2026 GMT", subject: "CN=k3s" } as unknown as X509Certificate;
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(daysLeft(new Date(cert.validTo), now)).toBe(10);
    expect(assess("serving", "https://x:6443", cert, now).warning).toMatch(
      /^expires in 10 day\(s\): restart K3s/,
    );
    expect(assess("client", "kubeconfig", cert, now - 200 * 86_400_000).warning).toBeUndefined();
    expect(assess("client", "kubeconfig", cert, now + 20 * 86_400_000).warning).toMatch(/^expired: /);
  });

  it("etcd members from K3s' labels, annotations and EtcdIsVoter", () => {
    const member = (name: string, reason?: string, status = "False"): NodeObject => ({
      metadata: {
        name,
        labels: { "node-role.kubernetes.io/etcd": "true" },
        annotations: { "etcd.k3s.cattle.io/node-address": "100.64.0.1" },
      },
      status: { conditions: reason ? [{ type: "EtcdIsVoter", status, reason }] : [] },
    });
    expect(
      etcdMembers([
        member("s1", "MemberNotLearner", "True"),
        member("s2", "MemberIsLearner"),
        member("s3"),
        { metadata: { name: "a1" } },
      ]).map((m) => [m.node, m.state]),
    ).toEqual([
      ["s1", "voter"],
      ["s2", "learner"],
      ["s3", "unknown"],
    ]);
  });

  it("flannel routes from the watchdog's annotation: fresh, stale, absent, unreadable", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    const withReport = (name: string, value?: string): NodeObject => ({
      metadata: { name, annotations: value === undefined ? {} : { [FLANNEL_ANNOTATION]: value } },
    });
    const report = (reason: string, checkedAt: string) =>
      JSON.stringify({ status: "False", reason, message: "m", checkedAt });
    expect(
      meshStatus(
        [
          withReport("a", report("RoutesMissing", "2026-01-01T00:09:00Z")),
          withReport("b", report("RoutesPresent", "2025-12-31T23:00:00Z")),
          withReport("c"),
          withReport("d", "{nope"),
        ],
        now,
      ).map((m) => [m.node, m.state]),
    ).toEqual([
      ["a", "missing-routes"],
      ["b", "stale"],
      ["c", "not-reported"],
      ["d", "unreadable"],
    ]);
  });

  it("label selectors as PodDisruptionBudgets use them", () => {
    expect(selectorMatches({ matchLabels: { app: "web" } }, { app: "web", x: "1" })).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }] }, { tier: "b" }),
    ).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, {})).toBe(true);
    expect(selectorMatches({}, { any: "thing" })).toBe(true);
  });
});
