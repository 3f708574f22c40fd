import { chmod, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { playbookEnv } from "../../../src/adapters/ansible.js";
import {
  MITOGEN_STRATEGY_MODULE,
  probeMitogen,
  requestedStrategy,
  resolveStrategy,
  type StrategyProbe,
  scriptInterpreter,
  strategyEnv,
} from "../../../src/adapters/ansible-strategy.js";
import type { ExecOptions, ExecResult } from "../../../src/adapters/exec.js";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";

const PLUGIN_DIR = "/cache/venv/lib/python3.13/site-packages/ansible_mitogen/plugins/strategy";

describe("INFRA_ANSIBLE_STRATEGY", () => {
  it("is infra's default when unset or empty, else linear or mitogen", () => {
    expect(requestedStrategy({})).toBeUndefined();
    expect(requestedStrategy({ INFRA_ANSIBLE_STRATEGY: "" })).toBeUndefined();
    expect(requestedStrategy({ INFRA_ANSIBLE_STRATEGY: "linear" })).toBe("linear");
    expect(requestedStrategy({ INFRA_ANSIBLE_STRATEGY: " mitogen\n" })).toBe("mitogen");
  });

  it("refuses any other value with a config error (exit 2) naming the variable and the choices", () => {
    for (const value of ["Mitogen", "mitogen_linear", "free", "1"]) {
      const error = (() => {
        try {
          requestedStrategy({ INFRA_ANSIBLE_STRATEGY: value });
        } catch (e) {
          return e;
        }
      })();
      expect(error, value).toBeInstanceOf(InfraError);
      expect(error).toMatchObject({ code: "ANSIBLE_STRATEGY_INVALID", exitCode: 2 });
      expect((error as InfraError).message).toContain(`INFRA_ANSIBLE_STRATEGY=${JSON.stringify(value)}`);
      expect((error as InfraError).hint).toContain("linear or mitogen");
    }
  });
});

describe("the environment of a run", () => {
  it("points Ansible at the Mitogen plugin directory and its mitogen_linear strategy", () => {
    const env = playbookEnv({ HOME: "/h" }, "/repo/ansible", "/tools/bin", {
      name: "mitogen",
      pluginDir: PLUGIN_DIR,
    });
    expect(env).toMatchObject({
      ANSIBLE_STRATEGY_PLUGINS: PLUGIN_DIR,
      ANSIBLE_STRATEGY: "mitogen_linear",
      ANSIBLE_CONFIG: "/repo/ansible/ansible.cfg",
    });
  });

  it("starts /usr/bin/python3 on every host under Mitogen (no discovery), unless the user names a Python", () => {
    const mitogen = { name: "mitogen", pluginDir: PLUGIN_DIR } as const;
    expect(playbookEnv({}, "/repo/ansible", "/tools/bin", mitogen).ANSIBLE_PYTHON_INTERPRETER).toBe(
      "/usr/bin/python3",
    );
    const own = { ANSIBLE_PYTHON_INTERPRETER: "/opt/python/bin/python3" };
    expect(playbookEnv(own, "/repo/ansible", "/tools/bin", mitogen).ANSIBLE_PYTHON_INTERPRETER).toBe(
      "/opt/python/bin/python3",
    );
    expect(
      playbookEnv({}, "/repo/ansible", "/tools/bin", { name: "linear" }).ANSIBLE_PYTHON_INTERPRETER,
    ).toBe(undefined);
  });

  it("forces linear when linear was chosen or Mitogen fell back, whatever ANSIBLE_STRATEGY the shell had", () => {
    expect(strategyEnv({ name: "linear" })).toEqual({ ANSIBLE_STRATEGY: "linear" });
    const env = playbookEnv({ ANSIBLE_STRATEGY: "mitogen_linear" }, "/repo/ansible", "/tools/bin", {
      name: "linear",
    });
    expect(env.ANSIBLE_STRATEGY).toBe("linear");
    expect(env.ANSIBLE_STRATEGY_PLUGINS).toBeUndefined();
  });

  it("leaves the user's own Ansible settings alone when no strategy was asked for", () => {
    const env = playbookEnv({ ANSIBLE_STRATEGY: "free" }, "/repo/ansible", "/tools/bin");
    expect(env.ANSIBLE_STRATEGY).toBe("free");
  });
});

describe("a playbook's first contact with its hosts", () => {
  const playbooksDir = join(PACKAGE_ROOT, "ansible", "playbooks");
  type Play = { name?: string; strategy?: string; become?: boolean; tasks?: Record<string, unknown>[] };
  type Entry = Play & { "ansible.builtin.import_playbook"?: string };

  it("is preflight.yml's first play, with Ansible's own SSH (Mitogen's would refuse a host key not yet recorded)", async () => {
    const plays = parse(await readFile(join(playbooksDir, "preflight.yml"), "utf8")) as Play[];
    const first = plays[0];
    expect(first?.strategy).toBe("linear");
    expect(first?.become).toBeUndefined();
    // raw needs no Python on the host and opens only an SSH session
    const modules = (first?.tasks ?? []).map((task) => Object.keys(task).find((key) => key.includes(".")));
    expect(modules.length).toBeGreaterThan(0);
    expect(new Set(modules)).toEqual(new Set(["ansible.builtin.raw"]));
    for (const play of plays.slice(1)) expect(play.strategy, play.name).toBeUndefined();
  });

  it("comes before any other play of every shipped playbook", async () => {
    const names = (await readdir(playbooksDir)).filter(
      (name) => name.endsWith(".yml") && name !== "preflight.yml",
    );
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const entries = parse(await readFile(join(playbooksDir, name), "utf8")) as Entry[];
      expect(entries[0]?.["ansible.builtin.import_playbook"], name).toMatch(/^(preflight|bootstrap)\.yml$/);
    }
  });
});

describe("resolveStrategy", () => {
  const probeOk = async (): Promise<StrategyProbe> => ({ ok: true, pluginDir: PLUGIN_DIR });

  it("probes nothing when linear is chosen, or when the shell's own ANSIBLE_STRATEGY applies", async () => {
    const probe = async (): Promise<StrategyProbe> => {
      throw new Error("probed");
    };
    const warnings: string[] = [];
    expect(
      await resolveStrategy({ INFRA_ANSIBLE_STRATEGY: "linear" }, (m) => warnings.push(m), probe),
    ).toEqual({ name: "linear" });
    expect(
      await resolveStrategy({ ANSIBLE_STRATEGY: "free" }, (m) => warnings.push(m), probe),
    ).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it("uses Mitogen when its plugin loads: by default, and when asked for (over the shell's ANSIBLE_STRATEGY)", async () => {
    const mitogen = { name: "mitogen", pluginDir: PLUGIN_DIR };
    const warnings: string[] = [];
    for (const env of [
      {},
      { INFRA_ANSIBLE_STRATEGY: "" },
      { INFRA_ANSIBLE_STRATEGY: "mitogen", ANSIBLE_STRATEGY: "free" },
    ]) {
      expect(await resolveStrategy(env, (m) => warnings.push(m), probeOk), JSON.stringify(env)).toEqual(
        mitogen,
      );
    }
    expect(warnings).toEqual([]);
  });

  it("by default, a plugin that does not load gives linear and one warning saying how to choose linear", async () => {
    const warnings: string[] = [];
    const cause = "ModuleNotFoundError: No module named 'ansible_mitogen'";
    const strategy = await resolveStrategy(
      {},
      (m) => warnings.push(m),
      async () => ({ ok: false, cause }),
    );
    expect(strategy).toEqual({ name: "linear" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Mitogen, infra's default Ansible strategy: the plugin does not load \(/);
    expect(warnings[0]).toContain("INFRA_ANSIBLE_STRATEGY=linear");
  });

  it("falls back to linear with one warning line naming the cause when the plugin does not load", async () => {
    const cause =
      "ansible.errors.AnsibleError: Your Ansible version (2.9.27) is too old. The oldest version supported by Mitogen for Ansible is (2, 10).";
    const warnings: string[] = [];
    const strategy = await resolveStrategy(
      { INFRA_ANSIBLE_STRATEGY: "mitogen" },
      (m) => warnings.push(m),
      async () => ({ ok: false, cause }),
    );
    expect(strategy).toEqual({ name: "linear" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain("\n");
    expect(warnings[0]).toContain(cause);
    expect(warnings[0]).toMatch(/^INFRA_ANSIBLE_STRATEGY=mitogen: /);
    expect(warnings[0]).toContain("Ansible's linear strategy");
    expect(warnings[0]).toContain("./infra tools install");
  });
});

describe("probeMitogen", () => {
  async function toolDir(shebang: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "infra-strategy-"));
    await writeFile(join(dir, "ansible-playbook"), `${shebang}\nprint("ansible")\n`);
    await chmod(join(dir, "ansible-playbook"), 0o755);
    return dir;
  }

  function fakeExec(result: Partial<ExecResult>, calls: { command: string; args: readonly string[] }[]) {
    return async (command: string, args: readonly string[], _options: ExecOptions): Promise<ExecResult> => {
      calls.push({ command, args });
      return { command, args, exitCode: 0, stdout: "", stderr: "", ...result };
    };
  }

  it("imports the strategy with the Python that ansible-playbook names, and returns the plugin's directory", async () => {
    const dir = await toolDir("#!/cache/venv/bin/python3.13");
    const calls: { command: string; args: readonly string[] }[] = [];
    const found = await probeMitogen(
      { PATH: `${dir}:/usr/bin` },
      fakeExec({ stdout: `${PLUGIN_DIR}\n` }, calls),
    );
    expect(found).toEqual({ ok: true, pluginDir: PLUGIN_DIR });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.command).toBe("/cache/venv/bin/python3.13");
    expect(calls[0]?.args[1]).toContain(`import os, ${MITOGEN_STRATEGY_MODULE} as m`);
  });

  it("gives the import error's last line as the cause", async () => {
    const dir = await toolDir("#!/usr/bin/env python3");
    const calls: { command: string; args: readonly string[] }[] = [];
    const found = await probeMitogen(
      { PATH: dir },
      fakeExec(
        {
          exitCode: 1,
          stderr:
            "Traceback (most recent call last):\n  File \"<string>\", line 1\nModuleNotFoundError: No module named 'ansible_mitogen'\n",
        },
        calls,
      ),
    );
    expect(calls[0]?.command).toBe("python3");
    expect(found).toEqual({ ok: false, cause: "ModuleNotFoundError: No module named 'ansible_mitogen'" });
  });

  it("says so when there is no ansible-playbook, or it names no interpreter", async () => {
    const empty = await mkdtemp(join(tmpdir(), "infra-strategy-"));
    expect(await probeMitogen({ PATH: empty }, fakeExec({}, []))).toEqual({
      ok: false,
      cause: "ansible-playbook is not installed",
    });
    const binary = await toolDir("ELF");
    expect(await probeMitogen({ PATH: binary }, fakeExec({}, []))).toMatchObject({
      ok: false,
      cause: expect.stringContaining("names no Python interpreter"),
    });
    expect(await scriptInterpreter(join(empty, "nothing"))).toBeUndefined();
  });
});
