/**
 * Mitogen's strategy (INFRA_ANSIBLE_STRATEGY=mitogen) with the pinned ansible-core, for real: the
 * plugin is found and loads through the same probe `infra` runs; a small playbook (a template, a
 * command, a stat, a task with become) runs through infra's own Ansible adapter against the
 * controller itself (connection: local) with each strategy, in check mode, for real and again, and
 * every task ends the same way with both, leaving the same files. That Mitogen really ran is shown by
 * what it changes: two command tasks share one parent process (its interpreter stays up between
 * tasks), where the linear strategy starts a new one for each. The shipped playbooks pass
 * --syntax-check with the strategy on; an interpreter without the plugin falls back to linear with
 * one warning.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlaybookEvent, playbookEnv, runPlaybook } from "../../src/adapters/ansible.js";
import {
  type AnsibleStrategy,
  probeMitogen,
  resolveStrategy,
  STRATEGY_ENV,
} from "../../src/adapters/ansible-strategy.js";
import { exec } from "../../src/adapters/exec.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { venvDir } from "../../src/toolchain/paths.js";
import { loadVersions } from "../../src/toolchain/versions.js";
import { ANSIBLE_DIR, ansibleTestEnv, buildInventory } from "../unit/ansible/fixture-inventory.js";

/** Mitogen's strategy as `infra` resolves it on this machine (the first test finds it). */
let mitogen: AnsibleStrategy = { name: "linear" };
let dir = "";
let env: NodeJS.ProcessEnv = {};

/** As root (the CI and this machine) `su` needs no password; elsewhere passwordless sudo. */
const BECOME_METHOD = process.getuid?.() === 0 ? "ansible.builtin.su" : "ansible.builtin.sudo";

const PLAYBOOK = `---
- name: Strategy probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Render a template
      ansible.builtin.template:
        src: "{{ work_dir }}/motd.j2"
        dest: "{{ out_dir }}/motd"
        mode: "0640"
    - name: Run a command once
      ansible.builtin.command: touch "{{ out_dir }}/ran"
      args:
        creates: "{{ out_dir }}/ran"
    - name: Stat the template
      ansible.builtin.stat:
        path: "{{ out_dir }}/motd"
      register: motd
    - name: The template is there with its mode
      ansible.builtin.assert:
        that: [motd.stat.exists, motd.stat.mode == "0640"]
      when: not ansible_check_mode
    - name: Parent process, first task
      ansible.builtin.command: sh -c 'echo $PPID'
      changed_when: false
      check_mode: false
      register: parent_one
    - name: Parent process, second task
      ansible.builtin.command: sh -c 'echo $PPID'
      changed_when: false
      check_mode: false
      register: parent_two
    - name: Become root
      ansible.builtin.command: id -un
      become: true
      become_method: ${BECOME_METHOD}
      changed_when: false
      check_mode: false
      register: became
    - name: Report
      ansible.builtin.debug:
        msg:
          parents: ["{{ parent_one.stdout }}", "{{ parent_two.stdout }}"]
          user: "{{ became.stdout }}"
`;

interface Run {
  /** task: status, in order, for the one host */
  tasks: string[];
  report: { parents: string[]; user: string };
  log: string;
}

async function runProbe(strategy: AnsibleStrategy, outDir: string, check: boolean): Promise<Run> {
  const logFile = join(dir, `${strategy.name}-${check ? "check" : "run"}-${Date.now()}.log`);
  const events: PlaybookEvent[] = [];
  await runPlaybook(
    {
      playbook: join(dir, "strategy.yml"),
      inventory: join(dir, "hosts.yml"),
      check,
      extraVars: { work_dir: dir, out_dir: outDir },
    },
    {
      ansibleDir: ANSIBLE_DIR,
      env: playbookEnv(env, ANSIBLE_DIR, env.PATH ?? "", strategy),
      logFile,
      onEvent: (event) => events.push(event),
    },
  );
  const log = await readFile(logFile, "utf8");
  const reportLine = log
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map(
      (l) => JSON.parse(l) as { _event?: string; task?: { name?: string }; hosts?: Record<string, unknown> },
    )
    .find((l) => l._event === "v2_runner_on_ok" && l.task?.name === "Report");
  const report = (reportLine?.hosts?.localhost as { msg: Run["report"] } | undefined)?.msg;
  if (!report) throw new Error(`no Report result in ${logFile}`);
  return {
    tasks: events.flatMap((e) => (e.type === "result" ? [`${e.task}: ${e.status}`] : [])),
    report,
    log,
  };
}

/** The files a run left: name, mode and content. */
async function files(outDir: string): Promise<string[]> {
  const names = (await readdir(outDir)).sort();
  return Promise.all(
    names.map(async (name) => {
      const info = await stat(join(outDir, name));
      return `${name} ${(info.mode & 0o777).toString(8)} ${JSON.stringify(await readFile(join(outDir, name), "utf8"))}`;
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-k3s-strategy-"));
  env = await ansibleTestEnv(dir);
  await writeFile(join(dir, "strategy.yml"), PLAYBOOK);
  await writeFile(join(dir, "motd.j2"), "managed by infra-k3s on {{ inventory_hostname }}\n");
  await writeFile(
    join(dir, "hosts.yml"),
    "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n",
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Ansible's Mitogen strategy with the pinned ansible-core", () => {
  it("is found in the tool cache's virtualenv and loads, without a warning", async () => {
    const warnings: string[] = [];
    mitogen = (await resolveStrategy({ ...env, [STRATEGY_ENV]: "mitogen" }, (m) => warnings.push(m))) ?? {
      name: "linear",
    };
    expect(warnings).toEqual([]);
    expect(mitogen.name, "install the pin: ./infra tools install").toBe("mitogen");
    if (mitogen.name === "mitogen") {
      expect(mitogen.pluginDir).toMatch(/ansible_mitogen\/plugins\/strategy$/);
      expect(mitogen.pluginDir.startsWith(venvDir(process.env, await loadVersions(PACKAGE_ROOT)))).toBe(true);
    }
  });

  it("ends every task of a playbook as the linear strategy does: check mode, a real run with become, a re-run", async () => {
    expect(mitogen.name).toBe("mitogen");
    const results: Record<string, { runs: Run[]; files: string[] }> = {};
    for (const strategy of [{ name: "linear" } as AnsibleStrategy, mitogen]) {
      const outDir = join(dir, `out-${strategy.name}`);
      await mkdir(outDir);
      const runs = [
        await runProbe(strategy, outDir, true),
        await runProbe(strategy, outDir, false),
        await runProbe(strategy, outDir, false),
      ];
      results[strategy.name] = { runs, files: await files(outDir) };
    }
    const linear = results.linear;
    const viaMitogen = results.mitogen;
    if (!linear || !viaMitogen) throw new Error("both strategies ran");
    for (const [i, run] of linear.runs.entries()) {
      expect(viaMitogen.runs[i]?.tasks, `run ${i}`).toEqual(run.tasks);
      expect(viaMitogen.runs[i]?.report.user).toBe("root");
    }
    // what the runs did, once (the same for both, above)
    expect(linear.runs[0]?.tasks).toContain("Render a template: changed");
    expect(linear.runs[1]?.tasks).toEqual(
      expect.arrayContaining(["Render a template: changed", "Run a command once: changed"]),
    );
    expect(linear.runs[2]?.tasks.filter((t) => t.endsWith(": changed"))).toEqual([]);
    expect(viaMitogen.files).toEqual(linear.files);
    expect(linear.files).toEqual(['motd 640 "managed by infra-k3s on localhost\\n"', 'ran 644 ""']);
    // Mitogen ran: one interpreter stayed up across the two tasks; linear started one for each
    for (const run of viaMitogen.runs) {
      expect(new Set(run.report.parents).size, run.log).toBe(1);
      expect(run.log).toContain("ansible.builtin are deprecated");
      expect(run.log).toMatch(/===== .* ansible-playbook .* \(strategy mitogen_linear\)\n/);
    }
    for (const run of linear.runs) {
      expect(new Set(run.report.parents).size).toBe(2);
      expect(run.log).not.toContain("ansible.builtin are deprecated");
    }
  });

  it("the shipped playbooks pass --syntax-check with the strategy on", async () => {
    expect(mitogen.name).toBe("mitogen");
    const inventory = await buildInventory(join(dir, "fixture"));
    const playbooks = (await readdir(join(ANSIBLE_DIR, "playbooks")))
      .filter((f) => f.endsWith(".yml"))
      .sort();
    const result = await exec(
      "ansible-playbook",
      ["-i", inventory, "--syntax-check", ...playbooks.map((p) => join("playbooks", p))],
      { cwd: ANSIBLE_DIR, env: playbookEnv(env, ANSIBLE_DIR, env.PATH ?? "", mitogen), check: false },
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  });

  it("an interpreter without the plugin gives the import error as the cause, and infra falls back to linear", async () => {
    // a real Python that is not Ansible's: the import fails exactly as on a machine without the pin
    const fake = join(dir, "other-bin");
    await mkdir(fake);
    const python = (
      await exec("sh", ["-c", "command -v python3"], { env: { PATH: "/usr/bin:/bin" } })
    ).stdout.trim();
    await writeFile(join(fake, "ansible-playbook"), `#!${python}\n`, { mode: 0o755 });
    const probe = await probeMitogen({ ...env, PATH: fake });
    expect(probe).toMatchObject({
      ok: false,
      cause: expect.stringMatching(/No module named '(ansible|ansible_mitogen)'/),
    });
    const warnings: string[] = [];
    const strategy = await resolveStrategy({ ...env, PATH: fake, [STRATEGY_ENV]: "mitogen" }, (m) =>
      warnings.push(m),
    );
    expect(strategy).toEqual({ name: "linear" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("No module named");
  });
});
