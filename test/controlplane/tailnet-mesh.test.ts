/**
 * The tailnet policy on a real mesh (docs/networking.md, "The tailnet policy"): headscale on the
 * loopback, real tailscaled instances in network namespaces this test creates (mesh.ts) acting as
 * two servers and an agent of the cluster and one device that is not (alice's laptop), and the
 * product's own `infra tailnet apply` putting the policy generated from cluster.yaml in place.
 * Every flow is probed as a client would (probes.ts): "open" means connected, "denied" means the
 * destination's tailscaled counted the packet as dropped by the policy — never a bare timeout.
 *
 * Requires root (network namespaces, TUN) and headscale, tailscale and tailscaled from
 * tools/versions.yaml (`./infra tools install headscale tailscale`).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument, type YAMLMap } from "yaml";
import { validateConfigText } from "../../src/config/load.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { nodeTags } from "../../src/tailnet/policy.js";
import { type CliRun, runCli, startCli } from "../helpers/cli.js";
import { type Mesh, startMesh } from "../helpers/tailnet/mesh.js";
import { expectedFlow, flowsBetween, roleOf, TCP, VXLAN } from "../helpers/tailnet/model.js";
import { awaitPolicyOnNodes } from "../helpers/tailnet/netmap.js";
import { type Flow, label, probeAll } from "../helpers/tailnet/probes.js";
import { freeTcpPort } from "../hosts/harness/net.js";
import { type Headscale, startHeadscale } from "./tailnet/headscale.js";

let dir: string;
let repo: string;
let headscale: Headscale;
let mesh: Mesh | undefined;
let apiKey: string;
const log = (line: string) => console.log(`[tailnet-mesh] ${line}`);

const infra = (args: string[], env: NodeJS.ProcessEnv = {}): CliRun =>
  runCli(args, { cwd: repo, env: { HEADSCALE_API_KEY: apiKey, ...env } });
const applyJson = (args: string[] = []) => {
  const run = infra(["tailnet", "apply", "--yes", "--json", ...args]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as {
    mode: string;
    changed: boolean;
    applied: boolean;
    heldBackTests: string[];
  };
};

/** A refused apply: its exit code and the error's code and message (`--json`). */
const refusal = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const run = infra([...args, "--json"], env);
  const error = (JSON.parse(run.stdout || "{}") as { error?: { code: string; message: string } }).error;
  return { exit: run.code, code: error?.code, message: error?.message ?? run.stderr };
};

async function editConfig(edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
  const path = join(repo, "cluster.yaml");
  const doc = parseDocument(await readFile(path, "utf8"));
  edit(doc);
  await writeFile(path, doc.toString());
}

async function clusterConfig() {
  const text = await readFile(join(repo, "cluster.yaml"), "utf8");
  const { config } = validateConfigText(text, "cluster.yaml", {});
  if (!config) throw new Error("the test's cluster.yaml is invalid");
  return config;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-tailnet-mesh-"));
  repo = join(dir, "repo");
  headscale = await startHeadscale(join(dir, "headscale"));
  apiKey = await headscale.createApiKey();
  await rm(repo, { recursive: true, force: true });
  await (await import("node:fs/promises")).mkdir(repo, { recursive: true });
  // The user's cluster: three servers (one never joins: the policy is about tags, not hosts) and an agent.
  const doc = parseDocument(await readFile(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8"));
  doc.set("name", "mesh");
  doc.setIn(["tailscale", "loginServer"], headscale.url);
  doc.deleteIn(["ssh", "privateKeyFile"]);
  const base = doc.getIn(["nodes", 0]) as YAMLMap;
  const nodes = [
    ["server-1", "server", "203.0.113.11"],
    ["server-2", "server", "203.0.113.12"],
    ["server-3", "server", "203.0.113.13"],
    ["agent-1", "agent", "203.0.113.14"],
  ].map(([name, role, ip]) => {
    const node = base.clone() as YAMLMap;
    node.set("name", name);
    node.set("role", role);
    node.set("publicIPv4", ip);
    node.set("ingress", role === "agent");
    node.delete("tailscaleIPv4");
    return node;
  });
  doc.setIn(["nodes"], doc.createNode(nodes));
  await writeFile(join(repo, "cluster.yaml"), doc.toString());
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
  await headscale?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Until every node enforces the policy headscale holds now: headscale answers an apply at once and
 * pushes the nodes their new maps afterwards, so a probe sent before they arrive meets the old policy.
 */
async function policyOnNodes(): Promise<void> {
  const started = Date.now();
  const { reads, firstDifferences } = await awaitPolicyOnNodes(
    () => headscale.filter(),
    (mesh as Mesh).members,
  );
  const waited = ((Date.now() - started) / 1000).toFixed(1);
  // "server-1: packet filter [...]" -> "server-1: packet filter": which node lagged, and in what.
  const lagging = firstDifferences.map((d) => /^\S+: (packet filter|peers)/.exec(d)?.[0] ?? d);
  log(
    `policy on every node after ${waited} s (${reads} reads); first read: ${lagging.join(", ") || "in place"}`,
  );
}

async function expectMatrix(admins: boolean): Promise<void> {
  const m = mesh as Mesh;
  await policyOnNodes();
  const nodes = m.members.filter((x) => roleOf(x) !== "device");
  const device = m.member("device");
  // Nodes to nodes, and the device to every node.
  const flows = [...flowsBetween(nodes, nodes), ...flowsBetween([device], nodes)];
  const started = Date.now();
  const seen = await probeAll(flows);
  log(`${flows.length} flows probed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const expected = Object.fromEntries(flows.map((f) => [label(f), expectedFlow(f, admins)]));
  expect(seen, "flow -> state (open: connected; denied: dropped by the destination's policy)").toEqual(
    expected,
  );
}

describe("the tailnet policy on a real mesh: headscale, tailscaled in network namespaces", () => {
  it("apply on a headscale without a policy writes the cluster's policy; its tests wait for devices", async () => {
    expect(await headscale.policy()).toBeUndefined();
    const result = applyJson();
    expect(result).toMatchObject({ mode: "new", changed: true, applied: true });
    // No device carries the cluster's tags yet: headscale cannot evaluate a test about them.
    expect(result.heldBackTests.length).toBeGreaterThan(0);
    const live = await headscale.policy();
    expect(live).toContain("// >>> infra-k3s mesh acls");
    expect(live).toContain('"tag:k8s-server:2379-2380,6443"');
  });

  it("the nodes join with their role tags; a re-apply adds the tests and headscale runs them", async () => {
    const config = await clusterConfig();
    const infraUser = await headscale.createUser("infra");
    const alice = await headscale.createUser("alice");
    const serverKey = await headscale.createAuthKey(infraUser, nodeTags(config, "server"));
    const agentKey = await headscale.createAuthKey(infraUser, nodeTags(config, "agent"));
    const deviceKey = await headscale.createAuthKey(alice);
    const started = Date.now();
    mesh = await startMesh(
      join(dir, "mesh"),
      headscale.port,
      [
        { name: "server-1", authKey: serverKey },
        { name: "server-2", authKey: serverKey },
        { name: "agent-1", authKey: agentKey },
        { name: "device", authKey: deviceKey },
      ],
      { tcp: Object.values(TCP), udp: [VXLAN] },
    );
    log(`mesh of ${mesh.members.length} up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const tags = Object.fromEntries((await headscale.nodes()).map((n) => [n.name, [...n.tags].sort()]));
    expect(tags).toEqual({
      "server-1": ["tag:k8s", "tag:k8s-server"],
      "server-2": ["tag:k8s", "tag:k8s-server"],
      "agent-1": ["tag:k8s", "tag:k8s-agent"],
      device: [],
    });
    const result = applyJson();
    expect(result).toMatchObject({ mode: "updated", changed: true, applied: true, heldBackTests: [] });
    expect(await headscale.policy()).toContain('{"src": "tag:k8s-agent", "proto": "tcp", "accept"');
    // Applying again changes nothing.
    expect(applyJson()).toMatchObject({ changed: false, applied: false });
  });

  it("nodes reach each other on every cluster port the model allows, and on nothing else", async () => {
    await expectMatrix(false);
  });

  it("the device that is not a cluster node is given none of the nodes: no route to any port", async () => {
    const m = mesh as Mesh;
    await policyOnNodes();
    const status = JSON.parse(await m.member("device").tailscale(["status", "--json"])) as {
      Peer?: Record<string, { HostName: string }>;
    };
    expect(Object.values(status.Peer ?? {}).map((p) => p.HostName)).toEqual([]);
    for (const node of ["server-1", "agent-1"]) {
      const peers = JSON.parse(await m.member(node).tailscale(["status", "--json"])) as {
        Peer?: Record<string, { HostName: string }>;
      };
      expect(Object.values(peers.Peer ?? {}).map((p) => p.HostName)).not.toContain("device");
    }
  });

  it("an admin added in cluster.yaml: the dry run shows it, apply opens the API and SSH to it, nothing else", async () => {
    await editConfig((doc) => {
      doc.setIn(["tailscale", "groups"], doc.createNode({ "group:k8s-admins": ["alice@"] }));
      doc.setIn(["tailscale", "admins"], doc.createNode(["group:k8s-admins"]));
    });
    const before = await headscale.policy();
    const dry = infra(["tailnet", "apply", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /^\+.*"src": \["group:k8s-admins"\], "proto": "tcp", "dst": \["tag:k8s-server:6443"\]/m,
    );
    expect(dry.stdout).toContain("dry run: nothing was sent");
    expect(await headscale.policy()).toBe(before);
    // Without a terminal and without --yes, nothing is changed either.
    expect(refusal(["tailnet", "apply"])).toMatchObject({ exit: 2, code: "CONFIRMATION_REQUIRED" });
    expect(await headscale.policy()).toBe(before);

    expect(applyJson()).toMatchObject({ changed: true, applied: true, heldBackTests: [] });
    await expectMatrix(true);
  });

  it("hostile input: a typo'd server tag would cut the servers off (refused; with --force it really does), an unreachable headscale, Ctrl-C during the write", async () => {
    const before = await headscale.policy();
    try {
      await hostileInput(before);
    } finally {
      // Whatever failed, the next test starts from the cluster.yaml it expects.
      await editConfig((doc) => {
        doc.setIn(["tailscale", "serverTag"], "tag:k8s-server");
        doc.setIn(["tailscale", "loginServer"], headscale.url);
        doc.setIn(["ssh", "port"], 22);
      });
    }
    expect(applyJson()).toMatchObject({ changed: false });
  });

  async function hostileInput(before: string | undefined): Promise<void> {
    // A typo in serverTag: headscale would take the policy, but the servers on the tailnet carry tag:k8s-server.
    await editConfig((doc) => doc.setIn(["tailscale", "serverTag"], "tag:k8s-sever"));
    for (const args of [
      ["tailnet", "apply", "--yes"],
      ["tailnet", "apply", "--dry-run"],
    ]) {
      const refused = refusal(args);
      expect(refused).toMatchObject({ exit: 3, code: "TAILNET_NODES_CUT_OFF" });
      expect(refused.message).toContain("server-1 (tag:k8s, tag:k8s-server; needs tag:k8s-sever)");
      expect(refused.message).toContain("server-2 (tag:k8s, tag:k8s-server; needs tag:k8s-sever)");
    }
    expect(await headscale.policy()).toBe(before);
    // The guard is not theoretical: forced through, the servers lose etcd between them.
    const forced = infra(["tailnet", "apply", "--yes", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/warning: the new policy would cut 2 nodes .* \(applied anyway: --force\)/);
    const m = mesh as Mesh;
    const etcd: Flow = {
      from: m.member("server-1"),
      to: m.member("server-2"),
      proto: "tcp",
      port: TCP.etcdClient,
    };
    // Cut off: the packet is dropped, or server-2 is not even a peer of server-1 any more.
    await policyOnNodes();
    expect(["denied", "unreachable"]).toContain((await probeAll([etcd]))[label(etcd)]);
    await editConfig((doc) => doc.setIn(["tailscale", "serverTag"], "tag:k8s-server"));
    expect(applyJson()).toMatchObject({ changed: true, applied: true });
    expect(await headscale.policy()).toBe(before);
    await policyOnNodes();
    expect((await probeAll([etcd]))[label(etcd)]).toBe("open");

    // A node re-tagged by hand, the policy unchanged: nothing to write, and the agent is named as cut off.
    const agentId = (await headscale.nodes()).find((n) => n.name === "agent-1")?.id;
    await headscale.cli(["nodes", "tag", "-i", String(agentId), "-t", "tag:k8s"]);
    try {
      const run = infra(["tailnet", "apply", "--yes", "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ changed: false, applied: false });
      expect(run.stderr).toContain(
        "warning: the policy in force cuts a node on headscale at " +
          `${headscale.url} off the cluster's ports: agent-1 (tag:k8s; needs tag:k8s-agent); give them their role tag`,
      );
    } finally {
      await headscale.cli(["nodes", "tag", "-i", String(agentId), "-t", "tag:k8s,tag:k8s-agent"]);
    }
    expect((await headscale.nodes()).find((n) => n.name === "agent-1")?.tags.sort()).toEqual([
      "tag:k8s",
      "tag:k8s-agent",
    ]);

    // headscale not answering (nothing listens on the port): exit 1 after the retries, nothing changed.
    const closed = await freeTcpPort();
    await editConfig((doc) => doc.setIn(["tailscale", "loginServer"], `http://127.0.0.1:${closed}`));
    expect(refusal(["tailnet", "apply", "--yes"])).toMatchObject({
      exit: 1,
      code: "TAILNET_SERVER_UNREACHABLE",
      message: expect.stringMatching(/did not answer GET \/api\/v1\/policy/),
    });

    // Ctrl-C while the write is under way: a relay in front of headscale passes everything but holds the write.
    let writeSeen: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      writeSeen = resolve;
    });
    const relay = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (request.method === "PUT" && request.url === "/api/v1/policy") {
        writeSeen();
        return; // never answered, never passed on
      }
      const upstream = await fetch(`${headscale.url}${request.url}`, {
        method: request.method ?? "GET",
        headers: { authorization: request.headers.authorization ?? "", "content-type": "application/json" },
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      response.writeHead(upstream.status, { "content-type": "application/json" });
      response.end(await upstream.text());
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = relay.address() as AddressInfo;
      await editConfig((doc) => {
        doc.setIn(["tailscale", "loginServer"], `http://127.0.0.1:${port}`);
        doc.setIn(["ssh", "port"], 2222); // a change to write: the admins' SSH port
      });
      const run = startCli(["tailnet", "apply", "--yes"], {
        cwd: repo,
        env: { HEADSCALE_API_KEY: apiKey },
      });
      await held;
      run.child.kill("SIGINT");
      const interrupted = await run.done;
      expect(interrupted.code, interrupted.stderr).toBe(130);
      expect(interrupted.stderr).toContain("it may or may not be in force");
      expect(interrupted.stderr).toContain("infra tailnet apply --dry-run");
    } finally {
      relay.closeAllConnections();
      relay.close();
    }
    expect(await headscale.policy()).toBe(before);
  }

  it("bad input: no or a wrong API key, a conflict with the user's rules, a policy headscale rejects — the old policy stays", async () => {
    const before = await headscale.policy();
    expect(refusal(["tailnet", "apply", "--yes"], { HEADSCALE_API_KEY: "" })).toMatchObject({
      exit: 3,
      code: "TAILNET_TOKEN_MISSING",
      message: expect.stringMatching(/^HEADSCALE_API_KEY is not set/),
    });
    expect(
      refusal(["tailnet", "apply", "--yes"], { HEADSCALE_API_KEY: "hskey-api-notakey-0000" }),
    ).toMatchObject({
      exit: 3,
      code: "TAILNET_TOKEN_REFUSED",
    });

    // The user's own rule beside infra's blocks, naming the agents' tag.
    const own = `${before?.replace(
      /"acls": \[\n/,
      '"acls": [\n    // mine: monitoring scrapes the agents\n    {"action": "accept", "src": ["group:k8s-admins"], "proto": "tcp", "dst": ["tag:k8s-agent:9100"]},\n',
    )}`;
    await writeFile(join(dir, "own.hujson"), own);
    await headscale.cli(["policy", "set", "-f", join(dir, "own.hujson")]);
    const withOwn = await headscale.policy();
    expect(withOwn).toContain("mine: monitoring");
    expect(applyJson()).toMatchObject({ changed: false });

    // cluster.yaml renames the agents' tag: headscale refuses a policy whose rule names an unowned tag.
    // (--force: past infra's own guard — the agent carries tag:k8s-agent — to headscale's verdict.)
    await editConfig((doc) => doc.setIn(["tailscale", "agentTag"], "tag:k8s-worker"));
    expect(refusal(["tailnet", "apply", "--yes", "--force"])).toMatchObject({
      exit: 2,
      code: "TAILNET_POLICY_REJECTED",
      message: expect.stringMatching(/would not accept the policy: .*tag not found: "tag:k8s-agent"/),
    });
    expect(await headscale.policy()).toBe(withOwn);
    await editConfig((doc) => doc.setIn(["tailscale", "agentTag"], "tag:k8s-agent"));

    // A policy infra did not write: refused unless --adopt, which keeps every rule of the user.
    const foreign =
      '{\n  // the user\'s tailnet\n  "acls": [\n    {"action": "accept", "src": ["alice@"], "dst": ["alice@:*"]},\n  ],\n}\n';
    await writeFile(join(dir, "foreign.hujson"), foreign);
    await headscale.cli(["policy", "set", "-f", join(dir, "foreign.hujson")]);
    expect(refusal(["tailnet", "apply", "--yes"])).toMatchObject({
      exit: 3,
      code: "TAILNET_POLICY_NOT_OURS",
    });
    expect(await headscale.policy()).toBe(foreign);
    expect(applyJson(["--adopt"])).toMatchObject({ mode: "adopted", applied: true, heldBackTests: [] });
    const adopted = await headscale.policy();
    expect(
      adopted?.startsWith(
        '{\n  // the user\'s tailnet\n  "acls": [\n    {"action": "accept", "src": ["alice@"], "dst": ["alice@:*"]},\n',
      ),
    ).toBe(true);
    expect(adopted).toContain("// >>> infra-k3s mesh tagOwners");
    // And the adopted policy still gives exactly the model's flows.
    await expectMatrix(true);
  });
});
