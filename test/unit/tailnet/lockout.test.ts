/**
 * The guard of `infra tailnet apply` against a policy that would cut running nodes off the mesh
 * (src/tailnet/lockout.ts): a node of cluster.yaml on the tailnet without the role tag the policy
 * opens the ports to. The apply path against a real headscale is in test/controlplane/tailnet-mesh.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { validateConfigText } from "../../../src/config/load.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { cutOffError, describeCutOff, nodesCutOff } from "../../../src/tailnet/lockout.js";

function load(serverTag = "tag:k8s-server") {
  const doc = parseDocument(readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8"));
  doc.setIn(["tailscale", "serverTag"], serverTag);
  const { config, problems } = validateConfigText(doc.toString(), "cluster.yaml", {});
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
}

// The example: hetzner-fsn1-1 (server), vultr-ams-1 and aws-euc1-1 (agents).
const devices = [
  { name: "hetzner-fsn1-1", tags: ["tag:k8s", "tag:k8s-server"] },
  { name: "vultr-ams-1", tags: ["tag:k8s", "tag:k8s-agent"] },
  { name: "alice-laptop", tags: [] },
];

describe("nodes a new policy would cut off", () => {
  it("none when every node on the tailnet carries its role tag; nodes not joined yet and other devices do not count", () => {
    expect(nodesCutOff(load(), devices)).toEqual([]);
    expect(nodesCutOff(load(), [])).toEqual([]);
  });

  it("a mistyped serverTag: the server on the tailnet lacks it", () => {
    const cutOff = nodesCutOff(load("tag:k8s-sever"), devices);
    expect(cutOff).toEqual([
      { node: "hetzner-fsn1-1", role: "server", lacks: "tag:k8s-sever", has: ["tag:k8s", "tag:k8s-server"] },
    ]);
    const error = cutOffError(cutOff, "headscale at http://hs");
    expect(error).toMatchObject({ code: "TAILNET_NODES_CUT_OFF", exitCode: 3 });
    expect(error.message).toBe(
      "the new policy would cut a node on headscale at http://hs off the cluster's ports: hetzner-fsn1-1 (tag:k8s, tag:k8s-server; needs tag:k8s-sever); nothing was sent",
    );
    expect(error.hint).toMatch(/--force/);
  });

  it("an agent joined without tags (by hand, or with a key that gave none)", () => {
    const cutOff = nodesCutOff(load(), [...devices, { name: "aws-euc1-1", tags: [] }]);
    expect(cutOff).toEqual([{ node: "aws-euc1-1", role: "agent", lacks: "tag:k8s-agent", has: [] }]);
    expect(cutOffError(cutOff, "x").message).toContain("aws-euc1-1 (no tags; needs tag:k8s-agent)");
    expect(describeCutOff(cutOff, "x", true)).toMatch(/^the policy in force cuts a node on x off/);
  });
});
