import { copyFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PlaybookOptions, PlaybookResult } from "../../../src/adapters/ansible.js";
import type { CommandContext } from "../../../src/context.js";
import { nodeRemoveCommand } from "../../../src/node/remove.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { runAnsibleCommand } from "../../../src/phases/ansible-command.js";
import type { AnsibleSession } from "../../../src/phases/ansible-phases.js";
import { clusterInitPhases, NODE_LAYERS } from "../../../src/phases/cluster-init.js";
import { layerSelection } from "../../../src/phases/layers.js";
import { nodeAddPhases } from "../../../src/phases/node-add.js";
import { nodeRemovePhases } from "../../../src/phases/node-remove.js";
import { configureCommand } from "../../../src/render/configure.js";
import { fakeProject, fakeSession, recordingReporter } from "../../helpers/fake-ansible.js";

let dir = "";
const lines: string[] = [];
let calls: PlaybookOptions[] = [];
const reporter = recordingReporter(lines);

function session(behaviour: { fail?: Error; changes?: PlaybookResult["changes"] } = {}): AnsibleSession {
  return fakeSession(dir, calls, {
    ...(behaviour.changes ? { changes: behaviour.changes } : {}),
    onRun: () => {
      if (behaviour.fail) throw behaviour.fail;
    },
  });
}

function context(): CommandContext {
  return { cwd: dir, env: {}, reporter, interactive: false };
}

beforeEach(async () => {
  dir = await fakeProject(["cp-1", "cp-2"], ["wk-1"]);
  lines.length = 0;
  calls = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("cluster init phases", () => {
  it("bootstraps every host after its preflight play checked them all, then installs only the first server", async () => {
    const out = await runAnsibleCommand(
      context(),
      { command: "cluster-init", dryRun: false, session: session(), tip: "infra status" },
      clusterInitPhases,
    );
    expect(calls.map((c) => [c.playbook, c.limit ?? "all", c.check ?? false])).toEqual([
      ["bootstrap.yml", "all", false],
      ["k3s-master.yml", ["cp-1"], false],
    ]);
    // The command's preflight is the first playbook's imported preflight play (no playbook of its own);
    // the playbooks after it skip their host checks.
    expect(calls[0]?.extraVars).toEqual({
      preflight_hosts: "k3s_cluster",
      preflight_check_tailscale_key: true,
      preflight_check_k3s_token: true,
      preflight_check_first_server: false,
    });
    expect(calls[1]?.extraVars).toEqual({ preflight_passed: true });
    expect(lines).toContain(
      "==> Running phase: Bootstrap every host (common, firewall, tailscale, K3s prerequisites)",
    );
    expect(lines).toContain("  play: play of k3s-master.yml");
    expect(lines).toContain("cp-1: ok=3 changed=1 failed=0 unreachable=0");
    expect(out.data.playbooks.map((p) => p.playbook)).toEqual(["bootstrap.yml", "k3s-master.yml"]);
    expect(out.human(out.data)).toMatch(
      /==> Finished in \d+s\nlog: .infra\/logs\/test.log\nTip: infra status$/,
    );
  });

  it("dry run: check mode with --diff everywhere, and the changes it found are listed", async () => {
    const out = await runAnsibleCommand(
      context(),
      {
        command: "cluster-init",
        dryRun: true,
        session: session({ changes: [{ host: "wk-1", task: "Ensure ufw is enabled [Debian]" }] }),
      },
      clusterInitPhases,
    );
    expect(calls.every((c) => c.check === true && c.diff === true)).toBe(true);
    expect(out.data.dryRun).toBe(true);
    expect(out.human(out.data)).toContain(
      "dry-run: these changes would be made:\n  wk-1: Ensure ufw is enabled [Debian]",
    );
  });

  it("stops before any playbook when the vault password is missing", async () => {
    const s = session();
    s.env = {};
    await expect(
      runAnsibleCommand(context(), { command: "cluster-init", dryRun: false, session: s }, clusterInitPhases),
    ).rejects.toMatchObject({
      code: "VAULT_PASSWORD_MISSING",
      kind: "preflight",
    });
    expect(calls).toEqual([]);
  });
});

describe("node add phases", () => {
  it("an agent: bootstrap (with the preflight) and k3s-worker.yml, each limited to the node", async () => {
    await runAnsibleCommand(context(), { command: "node-add", dryRun: false, session: session() }, (s) =>
      nodeAddPhases(s, "wk-1"),
    );
    expect(calls.map((c) => [c.playbook, c.limit])).toEqual([
      ["bootstrap.yml", ["wk-1"]],
      ["k3s-worker.yml", ["wk-1"]],
    ]);
    expect(calls[0]?.extraVars).toMatchObject({
      preflight_check_first_server: true,
      preflight_check_k3s_token: true,
    });
  });

  it("--until hosts: the host layer alone (no K3s token or first server needed); K3s reported not run", async () => {
    const layers = layerSelection({ until: "hosts" }, NODE_LAYERS);
    const out = await runAnsibleCommand(
      context(),
      {
        command: "node-add",
        dryRun: false,
        session: session(),
        rerun: "infra node add wk-1",
        layers,
      },
      (s) => nodeAddPhases(s, "wk-1", undefined, layers),
    );
    expect(calls.map((c) => [c.playbook, c.limit])).toEqual([["bootstrap.yml", ["wk-1"]]]);
    expect(calls[0]?.extraVars).toMatchObject({
      preflight_check_tailscale_key: true,
      preflight_check_k3s_token: false,
      preflight_check_first_server: false,
    });
    expect(out.human(out.data)).toContain(
      "not run: k3s (--until hosts); `infra node add wk-1` converges every layer",
    );
  });

  it("--skip hosts --dry-run: the K3s join alone, in check mode", async () => {
    const layers = layerSelection({ skip: ["hosts"] }, NODE_LAYERS);
    await runAnsibleCommand(context(), { command: "node-add", dryRun: true, session: session() }, (s) =>
      nodeAddPhases(s, "wk-1", undefined, layers),
    );
    expect(calls.map((c) => [c.playbook, c.check])).toEqual([["k3s-worker.yml", true]]);
    // the join's playbook runs the command's checks: the first server must answer
    expect(calls[0]?.extraVars).toMatchObject({
      preflight_check_tailscale_key: false,
      preflight_check_k3s_token: true,
      preflight_check_first_server: true,
    });
  });

  it("a server joins through k3s-master.yml", async () => {
    await runAnsibleCommand(context(), { command: "node-add", dryRun: false, session: session() }, (s) =>
      nodeAddPhases(s, "cp-2"),
    );
    expect(calls.map((c) => c.playbook)).toEqual(["bootstrap.yml", "k3s-master.yml"]);
  });

  it("an unknown node is a usage error listing the known ones; nothing runs", async () => {
    await expect(
      runAnsibleCommand(context(), { command: "node-add", dryRun: false, session: session() }, (s) =>
        nodeAddPhases(s, "ghost"),
      ),
    ).rejects.toMatchObject({
      code: "NODE_NOT_FOUND",
      kind: "usage",
      hint: expect.stringContaining("cp-1, cp-2, wk-1"),
    });
    expect(calls).toEqual([]);
  });

  it("a failing playbook is reported with the phase and the log", async () => {
    const error = await runAnsibleCommand(
      context(),
      { command: "node-add", dryRun: false, session: session({ fail: new Error("boom") }) },
      (s) => nodeAddPhases(s, "wk-1"),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "PHASE_FAILED",
      message: "bootstrap wk-1 (common, firewall, tailscale, K3s prerequisites): boom",
    });
  });
});

describe("node remove", () => {
  it("runs k3s-node-remove.yml limited to the node", async () => {
    await runAnsibleCommand(context(), { command: "node-remove", dryRun: false, session: session() }, (s) =>
      nodeRemovePhases(s, "wk-1"),
    );
    expect(calls.map((c) => [c.playbook, c.limit])).toEqual([["k3s-node-remove.yml", ["wk-1"]]]);
  });

  it("asks for --yes unless it is a dry run", async () => {
    await expect(
      nodeRemoveCommand(context(), { name: "wk-1", dryRun: false, yes: false }),
    ).rejects.toMatchObject({
      code: "CONFIRMATION_REQUIRED",
      kind: "usage",
    });
  });
});

describe("the inventory must match cluster.yaml", () => {
  it("a cluster.yaml the inventory was not rendered from stops the run before any playbook", async () => {
    await copyFile(join(PACKAGE_ROOT, "cluster.example.yaml"), join(dir, "cluster.yaml"));
    await expect(
      runAnsibleCommand(context(), { command: "node-add", dryRun: false, session: session() }, (s) =>
        nodeAddPhases(s, "wk-1", undefined),
      ),
    ).rejects.toMatchObject({
      code: "INVENTORY_STALE",
      kind: "preflight",
      hint: expect.stringContaining("infra configure"),
    });
    expect(calls).toEqual([]);
  });

  it("after infra configure the run goes on (and without a cluster.yaml the check is skipped)", async () => {
    await copyFile(join(PACKAGE_ROOT, "cluster.example.yaml"), join(dir, "cluster.yaml"));
    const configured = await configureCommand(context(), {});
    expect(configured.data.ok).toBe(true);
    await runAnsibleCommand(context(), { command: "node-add", dryRun: false, session: session() }, (s) =>
      nodeAddPhases(s, "vultr-ams-1", undefined),
    );
    expect(lines).toContain("inventory: matches cluster.yaml");
    expect(calls.map((c) => c.playbook)).toEqual(["bootstrap.yml", "k3s-worker.yml"]);
  });
});
