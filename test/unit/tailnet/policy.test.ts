/**
 * The tailnet policy from cluster.yaml (src/tailnet): what it allows, that it is deterministic, how
 * it merges with a user's own rules between markers, and the validation of the `tailscale` section.
 * headscale's own acceptance of the output is proven against a real headscale in
 * test/controlplane/tailnet-mesh.test.ts and tailnet-headscale.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { validateConfigText } from "../../../src/config/load.js";
import type { ClusterConfig } from "../../../src/config/schema.js";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { findBlocks } from "../../../src/tailnet/markers.js";
import { mergePolicy, verifyMerged } from "../../../src/tailnet/merge.js";
import { clusterPolicy, clusterTags, renderPolicy } from "../../../src/tailnet/policy.js";

const example = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");

function configWith(edit: (doc: ReturnType<typeof parseDocument>) => void = () => {}) {
  const doc = parseDocument(example);
  edit(doc);
  return validateConfigText(doc.toString(), "cluster.yaml", {});
}

function load(edit?: (doc: ReturnType<typeof parseDocument>) => void): ClusterConfig {
  const { config, problems } = configWith(edit);
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
}

const withAdmins = (doc: ReturnType<typeof parseDocument>) => {
  doc.setIn(["tailscale", "groups"], doc.createNode({ "group:k8s-admins": ["alice@example.com"] }));
  doc.setIn(["tailscale", "admins"], doc.createNode(["group:k8s-admins", "tag:ci"]));
};

const thrown = (fn: () => unknown): InfraError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof InfraError) return error;
    throw error;
  }
  throw new Error("expected an InfraError");
};

describe("the policy cluster.yaml asks for", () => {
  const policy = clusterPolicy(load(withAdmins));

  it("opens etcd only between servers, the API to agents and admins, kubelet and VXLAN between nodes", () => {
    expect(policy.acls.map(({ src, proto, dst }) => ({ src, proto, dst }))).toEqual([
      { src: ["tag:k8s-server"], proto: "tcp", dst: ["tag:k8s-server:2379-2380,6443"] },
      { src: ["tag:k8s-agent"], proto: "tcp", dst: ["tag:k8s-server:6443"] },
      {
        src: ["tag:k8s-server", "tag:k8s-agent"],
        proto: "tcp",
        dst: ["tag:k8s-server:10250", "tag:k8s-agent:10250"],
      },
      {
        src: ["tag:k8s-server", "tag:k8s-agent"],
        proto: "udp",
        dst: ["tag:k8s-server:8472", "tag:k8s-agent:8472"],
      },
      { src: ["group:k8s-admins", "tag:ci"], proto: "tcp", dst: ["tag:k8s-server:6443"] },
      { src: ["group:k8s-admins", "tag:ci"], proto: "tcp", dst: ["tag:k8s-server:22", "tag:k8s-agent:22"] },
    ]);
    // Nothing reaches 80/443 over the tailnet: ingress is the public side's.
    expect(JSON.stringify(policy.acls)).not.toMatch(/:(80|443)\b/);
    expect(policy.ssh).toEqual([
      expect.objectContaining({
        src: ["group:k8s-admins", "tag:ci"],
        dst: ["tag:k8s-server", "tag:k8s-agent"],
        users: ["admin", "root"],
      }),
    ]);
  });

  it("owns every tag the cluster uses (common, role and admin tags) and defines the admins' groups", () => {
    expect(Object.keys(policy.tagOwners)).toEqual(["tag:ci", "tag:k8s", "tag:k8s-agent", "tag:k8s-server"]);
    expect(Object.values(policy.tagOwners)).toEqual([[], [], [], []]);
    expect(policy.groups).toEqual({ "group:k8s-admins": ["alice@example.com"] });
  });

  it("has Tailscale's tests for the allowed and the denied flows, one port per destination", () => {
    const agent = policy.tests.find((t) => t.src === "tag:k8s-agent" && t.proto === "tcp");
    expect(agent?.accept).toContain("tag:k8s-server:6443");
    expect(agent?.deny).toEqual(
      expect.arrayContaining(["tag:k8s-server:2379", "tag:k8s-server:2380", "tag:k8s-agent:443"]),
    );
    const admin = policy.tests.find((t) => t.src === "tag:ci" && t.proto === "udp");
    expect(admin?.deny).toEqual(["tag:k8s-server:8472", "tag:k8s-agent:8472"]);
    for (const test of policy.tests)
      for (const dst of [...(test.accept ?? []), ...(test.deny ?? [])]) expect(dst).toMatch(/^[^,]+:\d+$/);
    expect(policy.sshTests.map((t) => t.src)).toEqual(["group:k8s-admins", "tag:ci"]);
  });

  it("renders deterministic, commented HuJSON that parses as the same data", () => {
    const text = renderPolicy(policy);
    expect(renderPolicy(clusterPolicy(load(withAdmins)))).toBe(text);
    expect(text).toMatch(/^\/\/ Tailnet access policy of the K3s cluster "demo"/);
    const data = parseJsonc(text, [], { allowTrailingComma: true }) as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(["groups", "tagOwners", "acls", "ssh", "tests", "sshTests"]);
    expect(data.acls).toEqual(policy.acls.map(({ why: _why, ...rule }) => rule));
    expect(findBlocks(text, "demo", "policy").map((b) => b.section)).toEqual(Object.keys(data));
  });

  it("without admins: no admin rule, no ssh rule, no admin test", () => {
    const bare = clusterPolicy(load());
    expect(bare.acls).toHaveLength(4);
    expect(bare.ssh).toEqual([]);
    expect(bare.sshTests).toEqual([]);
    expect(clusterTags(load())).toEqual(["tag:k8s-server", "tag:k8s-agent", "tag:k8s"]);
  });

  it("SSH at each node's own port and as each node's user", () => {
    const config = load((doc) => {
      withAdmins(doc);
      doc.setIn(["nodes", 1, "ssh"], doc.createNode({ port: 2222, user: "debian" }));
    });
    const rules = clusterPolicy(config).acls.filter((a) => a.why.includes("SSH"));
    expect(rules[0]?.dst).toEqual(["tag:k8s-server:22,2222", "tag:k8s-agent:22,2222"]);
    expect(clusterPolicy(config).ssh[0]?.users).toEqual(["admin", "debian", "root"]);
  });
});

describe("merging with the user's own rules", () => {
  const policy = clusterPolicy(load(withAdmins));
  const config = load(withAdmins);

  it("a control server without a policy gets the cluster's alone", () => {
    expect(mergePolicy(undefined, policy, "live")).toEqual({ text: renderPolicy(policy), mode: "new" });
  });

  it("replaces only what is between the markers: every byte of the user's stays", () => {
    const old = clusterPolicy(load());
    const mine = renderPolicy(old)
      .replace(
        '"acls": [\n',
        '"acls": [\n    // mine\n    {"action": "accept", "src": ["bob@"], "dst": ["tag:mon:9100"]},\n',
      )
      .replace('"tagOwners": {\n', '"tagOwners": {\n    "tag:mon": ["bob@"], // monitoring\n');
    const merged = mergePolicy(mine, policy, "live");
    expect(merged.mode).toBe("updated");
    expect(merged.text).toContain(
      '    // mine\n    {"action": "accept", "src": ["bob@"], "dst": ["tag:mon:9100"]},\n',
    );
    expect(merged.text).toContain('"tag:mon": ["bob@"], // monitoring');
    expect(merged.text).toContain('"src": ["group:k8s-admins", "tag:ci"]');
    verifyMerged(merged.text, config, "live");
    // Merging again changes nothing.
    expect(mergePolicy(merged.text, policy, "live").text).toBe(merged.text);
  });

  it("refuses a policy infra did not write, and with --adopt adds its blocks keeping the rest", () => {
    const foreign =
      '{\n  // ours\n  "acls": [\n    {"action": "accept", "src": ["*"], "dst": ["*:*"]}\n  ]\n}\n';
    const refused = thrown(() => mergePolicy(foreign, policy, "the policy on headscale"));
    expect(refused.code).toBe("TAILNET_POLICY_NOT_OURS");
    expect(refused.exitCode).toBe(3);
    const adopted = mergePolicy(foreign, policy, "live", { adopt: true });
    expect(adopted.mode).toBe("adopted");
    expect(
      adopted.text.startsWith(
        '{\n  // ours\n  "acls": [\n    {"action": "accept", "src": ["*"], "dst": ["*:*"]},\n',
      ),
    ).toBe(true);
    const data = parseJsonc(adopted.text, [], { allowTrailingComma: true }) as {
      acls: unknown[];
      tagOwners: object;
    };
    expect(data.acls).toHaveLength(1 + policy.acls.length);
    expect(Object.keys(data.tagOwners)).toEqual(Object.keys(policy.tagOwners));
    verifyMerged(adopted.text, config, "live");
    expect(mergePolicy(adopted.text, policy, "live").mode).toBe("updated");
  });

  it("a group or tag owner defined by the user too is a conflict, located", () => {
    const text = mergePolicy(undefined, policy, "tailnet/policy.hujson").text.replace(
      '"groups": {\n',
      '"groups": {\n    "group:k8s-admins": ["mallory@example.com"],\n',
    );
    const conflict = thrown(() => verifyMerged(text, config, "tailnet/policy.hujson"));
    expect(conflict.code).toBe("TAILNET_POLICY_CONFLICT");
    expect(conflict.exitCode).toBe(2);
    expect(conflict.location).toMatchObject({ file: "tailnet/policy.hujson" });
    expect(conflict.message).toMatch(/groups "group:k8s-admins" is defined twice/);
  });

  it("a cluster tag the merged tagOwners do not own is refused before anything is sent", () => {
    const text = renderPolicy(policy).replace('    "tag:k8s-agent": [],\n', "");
    const error = thrown(() => verifyMerged(text, config, "live"));
    expect(error.code).toBe("TAILNET_TAG_NOT_OWNED");
    expect(error.message).toContain("tag:k8s-agent");
  });

  it("broken markers and broken HuJSON are located, nothing merged", () => {
    const text = renderPolicy(policy);
    const noEnd = text.replace("    // <<< infra-k3s demo acls\n", "");
    expect(thrown(() => mergePolicy(noEnd, policy, "tailnet/policy.hujson"))).toMatchObject({
      code: "TAILNET_MARKERS_BROKEN",
      location: { file: "tailnet/policy.hujson" },
    });
    const syntax = text.replace('"acls": [', '"acls": [[');
    expect(thrown(() => mergePolicy(syntax, policy, "tailnet/policy.hujson")).code).toBe(
      "TAILNET_POLICY_SYNTAX",
    );
  });
});

describe("cluster.yaml's tailscale section", () => {
  const codes = (edit: (doc: ReturnType<typeof parseDocument>) => void) =>
    configWith(edit)
      .problems.filter((p) => p.severity === "error")
      .map((p) => `${p.code} ${p.location.path}`);

  it("refuses what would break the model, each located", () => {
    expect(codes((d) => d.setIn(["tailscale", "agentTag"], "tag:k8s-server"))).toEqual([
      "TAILNET_ROLE_TAGS_SAME tailscale.agentTag",
    ]);
    expect(codes((d) => d.setIn(["tailscale", "tags"], d.createNode(["tag:k8s", "tag:k8s-server"])))).toEqual(
      ["TAILNET_ROLE_TAG_SHARED tailscale.tags[1]"],
    );
    expect(codes((d) => d.setIn(["tailscale", "admins"], d.createNode(["group:ops"])))).toEqual([
      "TAILNET_GROUP_UNDEFINED tailscale.admins[0]",
    ]);
    expect(codes((d) => d.setIn(["tailscale", "admins"], d.createNode(["tag:k8s"])))).toEqual([
      "TAILNET_ADMIN_IS_NODE tailscale.admins[0]",
    ]);
    expect(codes((d) => d.setIn(["tailscale", "admins"], d.createNode(["alice"])))).toEqual([
      "TAILNET_PRINCIPAL_INVALID tailscale.admins[0]",
    ]);
    expect(
      codes((d) => d.setIn(["tailscale", "groups"], d.createNode({ "group:ops": ["not a user"] }))),
    ).toEqual(['TAILNET_USER_INVALID tailscale.groups["group:ops"][0]']);
    expect(codes((d) => d.setIn(["tailscale", "serverTag"], "k8s-server"))).toEqual([
      "TAILSCALE_TAG_INVALID tailscale.serverTag",
    ]);
    expect(
      codes((d) => {
        d.setIn(["tailscale", "loginServer"], "https://hs.example.com");
        d.setIn(["tailscale", "tagOwners"], d.createNode(["autogroup:admin"]));
      }),
    ).toEqual(["TAILNET_OWNER_UNSUPPORTED tailscale.tagOwners[0]"]);
  });
});
