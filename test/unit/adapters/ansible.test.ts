import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkVault,
  failureError,
  type PlaybookEvent,
  PlaybookEventParser,
  playbookArgv,
  playbookEnv,
  readInventoryNodes,
  runLogPath,
  runPlaybook,
} from "../../../src/adapters/ansible.js";
import type { ExecOptions, ExecResult } from "../../../src/adapters/exec.js";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";

const RECORDED = join(
  PACKAGE_ROOT,
  "test",
  "fixtures",
  "tool-output",
  "ansible",
  "preflight-unreachable-and-failed.jsonl",
);

describe("playbookArgv", () => {
  it("is just the playbook under playbooks/ by default", () => {
    expect(playbookArgv({ playbook: "bootstrap.yml" })).toEqual(["playbooks/bootstrap.yml"]);
  });

  it("adds inventory, limit, check, diff, tags and extra vars as JSON", () => {
    expect(
      playbookArgv({
        playbook: "k3s-worker.yml",
        inventory: "/tmp/inv/hosts.yml",
        limit: ["wk-1", "wk-2"],
        check: true,
        diff: true,
        tags: ["k3s_agent"],
        skipTags: ["preflight"],
        extraVars: { preflight_check_k3s_token: true, preflight_hosts: "k3s_cluster" },
      }),
    ).toEqual([
      "--inventory",
      "/tmp/inv/hosts.yml",
      "--limit",
      "wk-1,wk-2",
      "--check",
      "--diff",
      "--tags",
      "k3s_agent",
      "--skip-tags",
      "preflight",
      "--extra-vars",
      '{"preflight_check_k3s_token":true,"preflight_hosts":"k3s_cluster"}',
      "playbooks/k3s-worker.yml",
    ]);
  });

  it("keeps an absolute playbook path and leaves out empty lists", () => {
    expect(playbookArgv({ playbook: "/x/site.yml", limit: [], tags: [], extraVars: {} })).toEqual([
      "/x/site.yml",
    ]);
  });
});

describe("playbookEnv", () => {
  it("selects the repository's ansible.cfg and the jsonl callback, keeps the vault password file", () => {
    const env = playbookEnv(
      { HOME: "/h", ANSIBLE_VAULT_PASSWORD_FILE: "/h/.vault-pass" },
      "/repo/ansible",
      "/tools/bin:/usr/bin",
    );
    expect(env).toMatchObject({
      PATH: "/tools/bin:/usr/bin",
      ANSIBLE_CONFIG: "/repo/ansible/ansible.cfg",
      ANSIBLE_STDOUT_CALLBACK: "ansible.posix.jsonl",
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_VAULT_PASSWORD_FILE: "/h/.vault-pass",
    });
  });
});

describe("PlaybookEventParser on recorded jsonl output", () => {
  it("yields plays, tasks, results per host (with messages) and the recap", async () => {
    const parser = new PlaybookEventParser();
    const events: PlaybookEvent[] = [];
    for (const line of (await readFile(RECORDED, "utf8")).split("\n")) events.push(...parser.parse(line));
    expect(events.filter((e) => e.type === "play").map((e) => (e as { name: string }).name)).toEqual([
      "Preflight — check every host before changing anything",
      "Work",
    ]);
    const results = events.filter((e) => e.type === "result");
    expect(results).toContainEqual({
      type: "result",
      host: "gone",
      task: "Probe",
      play: "Preflight — check every host before changing anything",
      status: "unreachable",
      message:
        "Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused",
    });
    expect(results).toContainEqual({
      type: "result",
      host: "good",
      task: "Change something",
      play: "Work",
      status: "changed",
    });
    expect(results).toContainEqual({
      type: "result",
      host: "good",
      task: "Assert something",
      play: "Work",
      status: "failed",
      message: "good: the K3s token is missing",
    });
    const stats = events.find((e) => e.type === "stats");
    expect(stats).toMatchObject({
      stats: { gone: { unreachable: 1 }, good: { ok: 2, changed: 1, failures: 1 } },
    });
  });

  it("ignores lines that are not JSON", () => {
    const parser = new PlaybookEventParser();
    expect(parser.parse("[WARNING]: something")).toEqual([]);
    expect(parser.parse("{not json")).toEqual([]);
  });
});

describe("runPlaybook with a recorded run", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "infra-ansible-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const replay =
    (exitCode: number, lines: string[], stderr = "") =>
    async (command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> => {
      for (const line of lines) options.onLine?.(line, "stdout");
      if (stderr) options.onLine?.(stderr, "stderr");
      return { command, args, exitCode, stdout: lines.join("\n"), stderr };
    };

  it("names the unreachable host as a preflight failure (exit 3) and keeps every line in the log", async () => {
    const lines = (await readFile(RECORDED, "utf8")).trim().split("\n");
    const logFile = join(dir, "logs", "run.log");
    const seen: PlaybookEvent[] = [];
    const error = await runPlaybook(
      { playbook: "bootstrap.yml" },
      { ansibleDir: dir, env: {}, logFile, exec: replay(4, lines), onEvent: (e) => seen.push(e) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    const infra = error as InfraError;
    expect(infra.code).toBe("HOST_UNREACHABLE");
    expect(infra.exitCode).toBe(3);
    expect(infra.message).toBe("gone is not reachable over SSH");
    expect(infra.hint).toContain("nothing was changed on any host");
    expect(infra.hint).toContain(`log: ${logFile}`);
    expect(infra.details.map((d) => d.message)).toContain(
      "good: Assert something — good: the K3s token is missing",
    );
    const log = await readFile(logFile, "utf8");
    expect(log).toContain("ansible-playbook playbooks/bootstrap.yml");
    expect(log).toContain('"_event":"v2_playbook_on_stats"');
    expect(seen.some((e) => e.type === "stats")).toBe(true);
  });

  it("names the failed task and host", () => {
    const error = failureError(
      {
        playbook: "k3s-master.yml",
        exitCode: 2,
        check: false,
        recap: {},
        changes: [],
        durationMs: 1,
        failures: [
          {
            host: "cp-1",
            play: "Install the K3s servers one at a time",
            task: "Wait for the node to be Ready",
            message: "retries exhausted",
            unreachable: false,
          },
        ],
      },
      "/l.log",
    );
    expect(error.code).toBe("TASK_FAILED");
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('cp-1: task "Wait for the node to be Ready" failed: retries exhausted');
    expect(error.hint).toBe("log: /l.log");
  });

  it("a failed assert in the preflight play is a preflight error", () => {
    const error = failureError(
      {
        playbook: "bootstrap.yml",
        exitCode: 2,
        check: false,
        recap: {},
        changes: [],
        durationMs: 1,
        failures: [
          {
            host: "wk-1",
            play: "Preflight — check every host before changing anything",
            task: "Assert that the OS is supported",
            message: "wk-1: CentOS 7 is not supported.",
            unreachable: false,
          },
        ],
      },
      "/l.log",
    );
    expect(error).toMatchObject({ code: "PREFLIGHT_FAILED", kind: "preflight" });
    expect(error.hint).toContain("nothing was changed on any host");
  });

  it("in check mode collects what would change; succeeds on exit 0", async () => {
    const lines = (await readFile(RECORDED, "utf8"))
      .trim()
      .split("\n")
      .filter((l) => !l.includes("on_failed") && !l.includes("unreachable"));
    const result = await runPlaybook(
      { playbook: "bootstrap.yml", check: true, diff: true },
      { ansibleDir: dir, env: {}, logFile: join(dir, "r.log"), exec: replay(0, lines) },
    );
    expect(result.check).toBe(true);
    expect(result.changes).toEqual([{ host: "good", task: "Change something" }]);
    expect(result.failures).toEqual([]);
  });

  it("names the strategy in the log when infra chose one", async () => {
    const env = playbookEnv({}, dir, "/tools/bin", { name: "mitogen", pluginDir: "/p" });
    await runPlaybook(
      { playbook: "bootstrap.yml" },
      { ansibleDir: dir, env, logFile: join(dir, "s.log"), exec: replay(0, []) },
    );
    await runPlaybook(
      { playbook: "bootstrap.yml" },
      { ansibleDir: dir, env: {}, logFile: join(dir, "s.log"), exec: replay(0, []) },
    );
    const headers = (await readFile(join(dir, "s.log"), "utf8"))
      .split("\n")
      .filter((l) => l.startsWith("====="));
    expect(headers[0]).toMatch(/ansible-playbook playbooks\/bootstrap.yml \(strategy mitogen_linear\)$/);
    expect(headers[1]).toMatch(/ansible-playbook playbooks\/bootstrap.yml$/);
  });

  it("in check mode a command the module cannot predict is listed as one that would run", async () => {
    const skipped = JSON.stringify({
      _event: "v2_runner_on_skipped",
      task: { name: "Drain the node" },
      hosts: { "wk-1": { skipped: true, msg: "Command would have run if not in check mode" } },
    });
    const unrelated = JSON.stringify({
      _event: "v2_runner_on_skipped",
      task: { name: "Only on RedHat" },
      hosts: { "wk-1": { skipped: true, false_condition: "ansible_os_family == 'RedHat'" } },
    });
    const result = await runPlaybook(
      { playbook: "k3s-node-remove.yml", check: true, diff: true },
      { ansibleDir: dir, env: {}, logFile: join(dir, "r.log"), exec: replay(0, [skipped, unrelated]) },
    );
    expect(result.changes).toEqual([
      { host: "wk-1", task: "Drain the node (a command; check mode does not run it)" },
    ]);
  });

  it("a wrong vault password is its own preflight error, before any host is changed", async () => {
    const error = await runPlaybook(
      { playbook: "bootstrap.yml" },
      {
        ansibleDir: dir,
        env: {},
        logFile: join(dir, "r.log"),
        exec: replay(
          1,
          [],
          "[ERROR]: Decryption failed (no vault secrets were found that could decrypt) on ansible/inventory/group_vars/all/vault.yml",
        ),
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "VAULT_PASSWORD_WRONG", kind: "preflight", exitCode: 3 });
    expect((error as InfraError).message).toContain("nothing was changed on any host");
  });

  it("recognises a vault that cannot be opened", async () => {
    const error = await runPlaybook(
      { playbook: "site.yml" },
      {
        ansibleDir: dir,
        env: {},
        logFile: join(dir, "r.log"),
        exec: replay(1, [], "[ERROR]: Attempting to decrypt but no vault secrets found"),
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "VAULT_PASSWORD_MISSING", kind: "preflight" });
  });

  it("says how to install ansible when it is missing", async () => {
    const error = await runPlaybook(
      { playbook: "site.yml" },
      {
        ansibleDir: dir,
        env: {},
        logFile: join(dir, "r.log"),
        exec: async () =>
          Promise.reject(new InfraError("TOOL_NOT_FOUND", "ansible-playbook was not found on PATH")),
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "TOOL_NOT_FOUND",
      kind: "preflight",
      hint: "install the pinned Ansible: ./infra tools install ansible",
    });
  });
});

describe("vault and inventory checks", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "infra-ansible-vault-"));
    await mkdir(join(dir, "inventory", "group_vars", "all"), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const vault = () => join(dir, "inventory", "group_vars", "all", "vault.yml");

  it("a missing vault is fine when no secrets are needed, a preflight error otherwise", async () => {
    await expect(checkVault(dir, {}, dir, false)).resolves.toBe("missing");
    await expect(checkVault(dir, {}, dir, true)).rejects.toMatchObject({
      code: "VAULT_MISSING",
      kind: "preflight",
    });
  });

  it("refuses a plaintext vault", async () => {
    await writeFile(vault(), "vault_k3s_token: plain\n");
    await expect(checkVault(dir, {}, dir, false)).rejects.toMatchObject({
      code: "VAULT_NOT_ENCRYPTED",
      hint: "encrypt it before anything else (and before committing): ansible-vault encrypt inventory/group_vars/all/vault.yml",
    });
  });

  it("an encrypted vault needs ANSIBLE_VAULT_PASSWORD_FILE pointing at a file", async () => {
    await writeFile(vault(), "$ANSIBLE_VAULT;1.1;AES256\n6162\n");
    await expect(checkVault(dir, {}, dir, true)).rejects.toMatchObject({
      code: "VAULT_PASSWORD_MISSING",
      kind: "preflight",
    });
    await expect(
      checkVault(dir, { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, "nope") }, dir, true),
    ).rejects.toMatchObject({
      code: "VAULT_PASSWORD_MISSING",
    });
    await writeFile(join(dir, "pass"), "x");
    await expect(
      checkVault(dir, { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, "pass") }, dir, true),
    ).resolves.toBe("encrypted");
  });

  it("reads the servers and agents of the rendered inventory (top-level or under all.children)", async () => {
    const hosts = join(dir, "inventory", "hosts.yml");
    await writeFile(
      hosts,
      "k3s_cluster:\n  children:\n    k3s_masters:\n      hosts:\n        cp-1: {}\n    k3s_workers:\n      hosts:\n        wk-1: {}\n        wk-2: {}\n",
    );
    await expect(readInventoryNodes(dir, dir)).resolves.toEqual({
      servers: ["cp-1"],
      agents: ["wk-1", "wk-2"],
    });
    await writeFile(
      hosts,
      "all:\n  children:\n    k3s_cluster:\n      children:\n        k3s_masters:\n          hosts:\n            cp-1: {}\n",
    );
    await expect(readInventoryNodes(dir, dir)).resolves.toEqual({ servers: ["cp-1"], agents: [] });
  });

  it("a missing inventory says to run infra configure", async () => {
    await expect(readInventoryNodes(dir, dir)).rejects.toMatchObject({
      code: "INVENTORY_MISSING",
      hint: "render it from cluster.yaml: infra configure",
    });
  });

  it("names the log file after the time and the command", () => {
    expect(runLogPath("/p", "node-add-wk 1", new Date("2026-11-26T08:30:05.123Z"))).toBe(
      "/p/.infra/logs/20261126-083005-node-add-wk-1.log",
    );
  });
});
