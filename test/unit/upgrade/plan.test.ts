import { describe, expect, it } from "vitest";
import { CORDONED_BY_ANNOTATION } from "../../../src/dr/drain.js";
import type { NodeObject } from "../../../src/dr/status.js";
import type { InfraError } from "../../../src/errors.js";
import { planUpgrade } from "../../../src/upgrade/plan.js";

const TO = "v1.37.1+k3s1";
function node(
  name: string,
  version = "v1.36.3+k3s1",
  opts: { ready?: boolean; cordonedByCli?: boolean } = {},
): NodeObject {
  return {
    metadata: {
      name,
      annotations: opts.cordonedByCli ? { [CORDONED_BY_ANNOTATION]: `upgrade to ${TO}` } : {},
    },
    spec: { unschedulable: opts.cordonedByCli === true },
    status: {
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
      nodeInfo: { kubeletVersion: version },
    },
  };
}
const inventory = { servers: ["s1", "s2"], agents: ["a1", "a2", "a3"] };
const all = () => [node("a3"), node("s2"), node("a1"), node("s1"), node("a2")];
const names = (plan: ReturnType<typeof planUpgrade>) => plan.steps.map((s) => s.nodes.map((n) => n.name));

describe("upgrade order", () => {
  it("servers one at a time in inventory order, then agents in batches of --max-unavailable", () => {
    expect(names(planUpgrade(TO, all(), inventory, 1))).toEqual([["s1"], ["s2"], ["a1"], ["a2"], ["a3"]]);
    expect(names(planUpgrade(TO, all(), inventory, 2))).toEqual([["s1"], ["s2"], ["a1", "a2"], ["a3"]]);
  });

  it("skips nodes at the target; picks up a node an earlier run left cordoned", () => {
    const nodes = [
      node("s1", TO),
      node("s2", TO, { cordonedByCli: true }),
      node("a1", TO),
      node("a2", "v1.36.3+k3s1", { ready: false, cordonedByCli: true }),
      node("a3"),
    ];
    const plan = planUpgrade(TO, nodes, inventory, 5);
    expect(plan.steps.map((s) => s.nodes.map((n) => [n.name, n.action]))).toEqual([
      [["s2", "uncordon"]],
      [
        ["a2", "upgrade"],
        ["a3", "upgrade"],
      ],
    ]);
    expect(plan.upToDate.map((n) => n.name)).toEqual(["s1", "a1"]);
  });

  it.each([
    [
      "a node NotReady",
      [node("s1"), node("s2"), node("a1", undefined, { ready: false }), node("a2"), node("a3")],
      "UPGRADE_NODE_NOT_READY",
    ],
    ["a node outside the inventory", [...all(), node("x9")], "UPGRADE_NODE_NOT_IN_INVENTORY"],
    [
      "an inventory node not joined",
      all().filter((n) => n.metadata.name !== "a2"),
      "UPGRADE_NODE_NOT_REGISTERED",
    ],
  ])("refuses %s (preflight, exit 3)", (_what, nodes, code) => {
    const error = (() => {
      try {
        planUpgrade(TO, nodes, inventory, 1);
      } catch (e) {
        return e as InfraError;
      }
      return undefined;
    })();
    expect([error?.code, error?.exitCode]).toEqual([code, 3]);
  });
});
