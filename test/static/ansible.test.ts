/**
 * Static tier for ansible/: the committed inventory resolves, every playbook passes --syntax-check,
 * ansible-lint (production profile) reports nothing, yamllint is clean, the vault is encrypted, and
 * the preflight play stops a run — before any change — on an unreachable host, a missing token or a
 * vault without its password. Real Ansible throughout; the only hosts are the controller itself
 * (connection: local) and a closed port on 127.0.0.1. The vault password and secrets are generated here.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type PlaybookEvent, playbookEnv, runPlaybook } from "../../src/adapters/ansible.js";
import { exec } from "../../src/adapters/exec.js";
import { InfraError } from "../../src/errors.js";
import { nodeAddCommand } from "../../src/node/add.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import type { Reporter } from "../../src/ui/reporter.js";
import { startHeadscale } from "../hosts/harness/headscale.js";
import {
  ANSIBLE_DIR,
  ansibleTestEnv,
  buildInventory,
  committedInventoryExists,
  INSTALL_HINT,
} from "../unit/ansible/fixture-inventory.js";

let dir = "";
let env: NodeJS.ProcessEnv = {};
let inventory = "";
let passwordFile = "";
const secrets = {
  vault_tailscale_authkey: `tskey-auth-test-${randomBytes(8).toString("hex")}`,
  vault_k3s_token: randomBytes(32).toString("hex"),
  vault_etcd_s3_access_key: randomBytes(10).toString("hex"),
  vault_etcd_s3_secret_key: randomBytes(20).toString("hex"),
};

async function run(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = ANSIBLE_DIR) {
  return exec(command, args, { cwd, env: { ...env, ...extraEnv }, check: false }).catch((error: unknown) => {
    if (error instanceof InfraError && error.code === "TOOL_NOT_FOUND")
      throw new Error(`${command} is missing: ${INSTALL_HINT}`);
    throw error;
  });
}

/** Writes an encrypted vault with the generated secrets (or these values) into an inventory directory. */
async function writeVault(inventoryDir: string, values: Record<string, string> = secrets): Promise<string> {
  const file = join(inventoryDir, "group_vars", "all", "vault.yml");
  await writeFile(file, `---\n${stringify(values)}`, { mode: 0o600 });
  const result = await run("ansible-vault", ["encrypt", "--vault-password-file", passwordFile, file]);
  expect(result.exitCode, result.stderr).toBe(0);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-k3s-ansible-static-"));
  env = await ansibleTestEnv(dir);
  passwordFile = join(dir, "vault-pass");
  await writeFile(passwordFile, `${randomBytes(24).toString("base64")}\n`, { mode: 0o600 });
  expect(
    committedInventoryExists(),
    "ansible/inventory/hosts.yml and group_vars/all/cluster.yml are rendered by `infra configure`",
  ).toBe(true);
  inventory = await buildInventory(join(dir, "committed"), "committed");
  await writeVault(join(dir, "committed", "inventory"));
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("ansible/ static checks", () => {
  it("ansible-inventory --list resolves the committed inventory into k3s_masters and k3s_workers", async () => {
    const result = await run("ansible-inventory", ["-i", inventory, "--list"], {
      ANSIBLE_VAULT_PASSWORD_FILE: passwordFile,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const data = JSON.parse(result.stdout) as Record<string, { hosts?: string[]; children?: string[] }> & {
      _meta: { hostvars: Record<string, Record<string, unknown>> };
    };
    expect(data.k3s_cluster?.children).toEqual(expect.arrayContaining(["k3s_masters", "k3s_workers"]));
    expect(data.k3s_masters?.hosts?.length).toBeGreaterThan(0);
    for (const [host, vars] of Object.entries(data._meta.hostvars)) {
      expect(vars.ansible_host, host).toBe(
        "{{ tailscale_ip | default(public_ip | default(inventory_hostname)) }}",
      );
      expect(vars.public_ip, host).toBeTypeOf("string");
      expect(vars.k3s_version, host).toMatch(/^v\d+\.\d+\.\d+\+k3s\d+$/);
      // the vault decrypted with the generated password
      expect(vars.vault_k3s_token, host).toBe(secrets.vault_k3s_token);
    }
  });

  it("ansible_host is the Tailscale IP when known, else the public IP; secrets reach the roles from the vault", async () => {
    const result = await run(
      "ansible",
      [
        "-i",
        inventory,
        "all",
        "-m",
        "ansible.builtin.debug",
        "-a",
        "msg={{ [ansible_host, public_ip, tailscale_ip | default(''), k3s_token, tailscale_authkey] }}",
      ],
      {
        ANSIBLE_VAULT_PASSWORD_FILE: passwordFile,
        ANSIBLE_STDOUT_CALLBACK: "ansible.posix.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS: "1",
      },
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const plays = (
      JSON.parse(result.stdout) as { plays: { tasks: { hosts: Record<string, { msg: string[] }> }[] }[] }
    ).plays;
    const hosts = plays[0]?.tasks[0]?.hosts ?? {};
    expect(Object.keys(hosts).length).toBeGreaterThan(0);
    for (const [host, { msg }] of Object.entries(hosts)) {
      const [ansibleHost, publicIp, tailscaleIp, token, authkey] = msg;
      expect(ansibleHost, host).toBe(tailscaleIp ? tailscaleIp : publicIp);
      expect(token).toBe(secrets.vault_k3s_token);
      expect(authkey).toBe(secrets.vault_tailscale_authkey);
    }
  });

  it("every playbook passes --syntax-check", async () => {
    const playbooks = (await readdir(join(ANSIBLE_DIR, "playbooks")))
      .filter((f) => f.endsWith(".yml"))
      .sort();
    expect(playbooks).toEqual(
      expect.arrayContaining([
        "bootstrap.yml",
        "k3s-cluster.yml",
        "k3s-master.yml",
        "k3s-uninstall.yml",
        "k3s-upgrade.yml",
        "k3s-worker.yml",
        "site.yml",
      ]),
    );
    for (const playbook of playbooks) {
      const result = await run(
        "ansible-playbook",
        ["-i", inventory, "--syntax-check", join("playbooks", playbook)],
        {
          ANSIBLE_VAULT_PASSWORD_FILE: passwordFile,
        },
      );
      expect(result.exitCode, `${playbook}: ${result.stdout}${result.stderr}`).toBe(0);
    }
  });

  it("ansible-lint (production profile, offline) reports zero findings", async () => {
    const result = await run("ansible-lint", [
      "-c",
      join(PACKAGE_ROOT, ".ansible-lint"),
      "--offline",
      "--nocolor",
    ]);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toMatch(/0 failure\(s\), 0 warning\(s\)/);
    expect(result.stderr).toMatch(/Profile 'production' was required, and it passed/);
  });

  it("yamllint is clean on ansible/", async () => {
    const result = await run("yamllint", ["--strict", "ansible/", ".ansible-lint"], {}, PACKAGE_ROOT);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  });

  it("every role has defaults, argument specs, meta, handlers, a preflight and a README", async () => {
    const roles = (await readdir(join(ANSIBLE_DIR, "roles"))).sort();
    expect(roles).toEqual([
      "common",
      "firewall",
      "flannel_watchdog",
      "k3s_agent",
      "k3s_artifacts",
      "k3s_prereq",
      "k3s_server",
      "tailscale",
    ]);
    for (const role of roles) {
      for (const file of [
        "defaults/main.yml",
        "meta/argument_specs.yml",
        "meta/main.yml",
        "handlers/main.yml",
        "tasks/main.yml",
        "tasks/preflight.yml",
        "README.md",
      ]) {
        expect(existsSync(join(ANSIBLE_DIR, "roles", role, file)), `${role}/${file}`).toBe(true);
      }
    }
  });

  it("the committed vault (if any) is encrypted, and the example holds only fake placeholders", async () => {
    const committed = join(ANSIBLE_DIR, "inventory", "group_vars", "all", "vault.yml");
    if (existsSync(committed))
      expect((await readFile(committed, "utf8")).startsWith("$ANSIBLE_VAULT;")).toBe(true);
    const example = await readFile(
      join(ANSIBLE_DIR, "inventory", "group_vars", "all", "vault.yml.example"),
      "utf8",
    );
    for (const line of example.split("\n").filter((l) => /^vault_\w+:/.test(l)))
      expect(line).toMatch(/EXAMPLE/);
    const encrypted = await readFile(
      join(dir, "committed", "inventory", "group_vars", "all", "vault.yml"),
      "utf8",
    );
    expect(encrypted.startsWith("$ANSIBLE_VAULT;1.1;AES256")).toBe(true);
    expect(encrypted).not.toContain(secrets.vault_k3s_token);
  });
});

describe("preflight stops a run before anything changes", () => {
  /** An inventory with the controller itself (connection: local) and a host on a closed loopback port. */
  async function loopbackInventory(
    name: string,
    hosts: Record<string, Record<string, unknown>>,
  ): Promise<string> {
    const base = join(dir, name);
    const hostsFile = await buildInventory(base, "fixture");
    await writeFile(
      hostsFile,
      stringify({ k3s_cluster: { children: { k3s_masters: { hosts }, k3s_workers: { hosts: {} } } } }),
    );
    return hostsFile;
  }
  /** The environment `infra` runs playbooks in (jsonl callback, repository ansible.cfg), on the test's PATH. */
  const runEnv = (extra: NodeJS.ProcessEnv = {}) => ({
    ...playbookEnv(env, ANSIBLE_DIR, env.PATH ?? ""),
    ...extra,
  });
  const local = {
    ansible_connection: "local",
    ansible_become: false,
    public_ip: "127.0.0.1",
    node_provider: "local",
  };
  const closed = {
    ansible_host: "127.0.0.1",
    ansible_port: 1,
    ansible_user: "nobody",
    public_ip: "127.0.0.1",
  };

  it("an unreachable host: HOST_UNREACHABLE naming it, exit 3, and no play after the preflight ran", async () => {
    const hostsFile = await loopbackInventory("unreachable", { controller: local, "gone-1": closed });
    await writeVault(join(dir, "unreachable", "inventory"));
    const events: PlaybookEvent[] = [];
    const logFile = join(dir, "logs", "unreachable.log");
    const error = await runPlaybook(
      { playbook: "bootstrap.yml", inventory: hostsFile },
      {
        ansibleDir: ANSIBLE_DIR,
        env: {
          ...env,
          ANSIBLE_VAULT_PASSWORD_FILE: passwordFile,
          ANSIBLE_STDOUT_CALLBACK: "ansible.posix.jsonl",
        },
        logFile,
        onEvent: (e) => events.push(e),
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({
      code: "HOST_UNREACHABLE",
      kind: "preflight",
      message: "gone-1 is not reachable over SSH",
    });
    expect((error as InfraError).exitCode).toBe(3);
    // Ansible may announce the next play, but no task of it runs on any host.
    const afterPreflight = events.filter(
      (e) => (e.type === "task" || e.type === "result") && !e.play.startsWith("Preflight"),
    );
    expect(afterPreflight).toEqual([]);
    const changed = events.filter((e) => e.type === "result" && e.status === "changed");
    expect(changed).toEqual([]);
    expect(await readFile(logFile, "utf8")).toContain("v2_runner_on_unreachable");
  });

  it("an unsupported host (this container has no systemd): PREFLIGHT_FAILED naming the host, exit 3", async () => {
    const hostsFile = await loopbackInventory("no-systemd", { controller: local });
    const events: PlaybookEvent[] = [];
    const error = await runPlaybook(
      {
        playbook: "bootstrap.yml",
        inventory: hostsFile,
        extraVars: { vault_tailscale_authkey: secrets.vault_tailscale_authkey },
      },
      {
        ansibleDir: ANSIBLE_DIR,
        env: runEnv(),
        logFile: join(dir, "logs", "no-systemd.log"),
        onEvent: (e) => events.push(e),
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "PREFLIGHT_FAILED", kind: "preflight" });
    expect((error as InfraError).exitCode).toBe(3);
    expect((error as InfraError).message).toMatch(
      /^controller: task "Assert that (the OS is supported|systemd manages the host)" failed: controller: /,
    );
    expect(events.filter((e) => e.type === "result" && !e.play.startsWith("Preflight"))).toEqual([]);
  });

  it("a missing K3s token: PREFLIGHT_FAILED naming vault_k3s_token; no task after the preflight", async () => {
    const hostsFile = await loopbackInventory("no-token", { controller: local });
    const events: PlaybookEvent[] = [];
    const error = await runPlaybook(
      // preflight_passed skips the host checks (this container is not a supported host) to reach the token check
      { playbook: "k3s-master.yml", inventory: hostsFile, extraVars: { preflight_passed: true } },
      {
        ansibleDir: ANSIBLE_DIR,
        env: runEnv(),
        logFile: join(dir, "logs", "no-token.log"),
        onEvent: (e) => events.push(e),
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "PREFLIGHT_FAILED", kind: "preflight" });
    expect((error as InfraError).message).toContain("vault_k3s_token");
    expect(events.filter((e) => e.type === "result" && !e.play.startsWith("Preflight"))).toEqual([]);
  });

  it("an auth key headscale would refuse: the preflight asks headscale's API and stops, naming why", async () => {
    // A real headscale on the loopback; the controller plays a host that is not on the tailnet yet.
    const headscale = await startHeadscale(join(dir, "headscale"));
    try {
      // A second host joins with a key of its own, as an agent does (docs/networking.md: a role's key
      // named in its group's variables); the controller plays both.
      const hostsFile = await loopbackInventory("auth-key", {
        controller: local,
        "controller-2": { ...local, tailscale_authkey: "{{ vault_tailscale_agent_authkey }}" },
      });
      const apiKey = await headscale.createApiKey();
      const agentKey = await headscale.createAuthKey(["tag:k8s"]);
      const preflight = async (authkey: string, agentAuthkey = agentKey) => {
        // The keys come from the vault, as in a real run (extra vars would show in the log's command line).
        await writeVault(join(dir, "auth-key", "inventory"), {
          ...secrets,
          vault_tailscale_authkey: authkey,
          vault_tailscale_agent_authkey: agentAuthkey,
          vault_tailscale_api_key: apiKey,
        });
        return runPlaybook(
          {
            playbook: "preflight.yml",
            inventory: hostsFile,
            extraVars: {
              // preflight_passed skips the host checks (this container is not a supported host)
              preflight_passed: true,
              preflight_check_tailscale_key: true,
              tailscale_login_server: `http://127.0.0.1:${headscale.port}`,
            },
          },
          {
            ansibleDir: ANSIBLE_DIR,
            env: runEnv({ ANSIBLE_VAULT_PASSWORD_FILE: passwordFile }),
            logFile: join(dir, "logs", "auth-key.log"),
          },
        );
      };
      await expect(preflight(await headscale.createAuthKey(["tag:k8s"]))).resolves.toMatchObject({
        exitCode: 0,
      });
      const expired = await headscale.createAuthKey(["tag:k8s"], { expiration: "1s" });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const error = await preflight(expired).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "PREFLIGHT_FAILED", kind: "preflight", exitCode: 3 });
      expect((error as InfraError).message).toMatch(
        /would refuse controller's Tailscale auth key \(tailscale_authkey\): it expired at /,
      );
      expect((error as InfraError).message).toContain("Nothing was changed on any host");
      // Each host's own key is checked: the second host's expired key stops the run, naming that host.
      const agentError = await preflight(await headscale.createAuthKey(["tag:k8s"]), expired).catch(
        (e: unknown) => e,
      );
      expect(agentError).toMatchObject({ code: "PREFLIGHT_FAILED", exitCode: 3 });
      expect((agentError as InfraError).message).toMatch(
        /would refuse controller-2's Tailscale auth key \(tailscale_authkey\): it expired at /,
      );
      const unknown = `hskey-auth-${"A".repeat(12)}-${"b".repeat(64)}`;
      const notFound = await preflight(unknown).catch((e: unknown) => e);
      expect((notFound as InfraError).message).toContain("it does not know it");
      for (const secret of [apiKey, expired]) {
        expect(await readFile(join(dir, "logs", "auth-key.log"), "utf8")).not.toContain(secret);
      }
    } finally {
      await headscale.stop();
    }
  });

  it("an encrypted vault without its password: VAULT_PASSWORD_MISSING before any host is contacted", async () => {
    const hostsFile = await loopbackInventory("no-password", { controller: local });
    await writeVault(join(dir, "no-password", "inventory"));
    const events: PlaybookEvent[] = [];
    const error = await runPlaybook(
      { playbook: "bootstrap.yml", inventory: hostsFile },
      {
        ansibleDir: ANSIBLE_DIR,
        env,
        logFile: join(dir, "logs", "no-password.log"),
        onEvent: (e) => events.push(e),
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "VAULT_PASSWORD_MISSING", kind: "preflight" });
    expect(events).toEqual([]);
  });

  it("`infra node add` (the real command) stops at the preflight, names the host, and keeps a log", async () => {
    // A project directory like a clone: ansible.cfg, playbooks and roles of this repository, and an
    // inventory whose node sits on a closed loopback port.
    const project = join(dir, "project");
    const ansible = join(project, "ansible");
    await mkdir(ansible, { recursive: true });
    await cp(join(ANSIBLE_DIR, "ansible.cfg"), join(ansible, "ansible.cfg"));
    await symlink(join(ANSIBLE_DIR, "playbooks"), join(ansible, "playbooks"));
    await symlink(join(ANSIBLE_DIR, "roles"), join(ansible, "roles"));
    const hostsFile = await buildInventory(ansible, "fixture");
    await writeFile(
      hostsFile,
      stringify({
        k3s_cluster: {
          children: {
            k3s_masters: { hosts: { "cp-1": closed } },
            k3s_workers: { hosts: { "wk-gone": closed } },
          },
        },
      }),
    );
    await writeVault(join(ansible, "inventory"));
    const lines: string[] = [];
    const reporter: Reporter = {
      phase: (t) => lines.push(`==> Running phase: ${t}`),
      step: (s, m) => lines.push(`${s}: ${m}`),
      info: (m) => lines.push(m),
      warn: (m) => lines.push(`warning: ${m}`),
    };
    const error = await nodeAddCommand(
      {
        cwd: project,
        env: { ...env, ANSIBLE_VAULT_PASSWORD_FILE: passwordFile },
        reporter,
        interactive: false,
      },
      { name: "wk-gone", dryRun: false, yes: true },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    const infra = error as InfraError;
    expect(infra.code).toBe("HOST_UNREACHABLE");
    expect(infra.exitCode).toBe(3);
    // The command's checks run in bootstrap.yml's own preflight play (no playbook of their own).
    expect(infra.message).toMatch(/^bootstrap wk-gone \(.*\): wk-gone is not reachable over SSH$/);
    expect(infra.hint).toMatch(/nothing was changed on any host/);
    const log = /log: (\S+\.log)/.exec(infra.hint ?? "")?.[1] ?? "";
    expect(log).toMatch(/\.infra\/logs\/\d{8}-\d{6}-node-add-wk-gone\.log$/);
    expect(await readFile(log, "utf8")).toContain("v2_runner_on_unreachable");
    expect(lines).toContain("  play: Preflight — meet every host");
    expect(lines.some((l) => l.startsWith("  play: Bootstrap the hosts"))).toBe(false);
  });

  it("k3s-upgrade.yml refuses a downgrade before any node is drained", async () => {
    const hostsFile = await loopbackInventory("downgrade", { controller: local });
    // A stand-in for /usr/local/bin/k3s that reports a newer release than k3s_version (v1.36.3+k3s1).
    const fakeK3s = join(dir, "downgrade", "k3s");
    await writeFile(fakeK3s, "#!/bin/sh\necho 'k3s version v1.37.1+k3s1 (0123abcd)'\n");
    await chmod(fakeK3s, 0o755);
    const events: PlaybookEvent[] = [];
    const error = await runPlaybook(
      {
        playbook: "k3s-upgrade.yml",
        inventory: hostsFile,
        // preflight_passed skips the host checks (this container is not a supported host)
        extraVars: {
          preflight_passed: true,
          upgrade_k3s_binary: fakeK3s,
          vault_k3s_token: secrets.vault_k3s_token,
        },
      },
      {
        ansibleDir: ANSIBLE_DIR,
        env: runEnv(),
        logFile: join(dir, "logs", "downgrade.log"),
        onEvent: (e) => events.push(e),
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).message).toMatch(
      /^controller: task "Assert that the target version is not older than the running one" failed: controller runs K3s v1\.37\.1\+k3s1, newer than k3s_version v1\.36\.3\+k3s1/,
    );
    const tasks = events.filter((e) => e.type === "task").map((e) => (e as { name: string }).name);
    expect(tasks.some((t) => /drain/i.test(t))).toBe(false);
  });
});
