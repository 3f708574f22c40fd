/**
 * The per-task cost of Ansible's default strategy (linear) and of Mitogen's (mitogen_linear,
 * INFRA_ANSIBLE_STRATEGY=mitogen) with the pinned ansible-core, on the controller itself (connection:
 * local, so no SSH is in either figure). A playbook of BENCH_TASKS no-op module calls (ansible.builtin.stat,
 * as in a converged host's re-run) and an empty one run with each strategy, in alternating order,
 * BENCH_RUNS times; the per-task cost is (tasks run - empty run) / tasks, median. Both the wall time
 * and the CPU time of ansible-playbook and everything it started are printed: on a shared machine the
 * wall time includes waiting for a core, the CPU time does not. Run: npm run bench:ansible-strategy.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { playbookEnv } from "../src/adapters/ansible.js";
import { type AnsibleStrategy, resolveStrategy, STRATEGY_ENV } from "../src/adapters/ansible-strategy.js";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { toolPath, venvDir } from "../src/toolchain/paths.js";
import { loadVersions } from "../src/toolchain/versions.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TIME = "/usr/bin/time";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function playbook(tasks: number): string {
  const lines = ["---", "- name: Bench", "  hosts: all", "  gather_facts: false", "  tasks:"];
  if (tasks === 0) lines[lines.length - 1] = "  tasks: []";
  for (let i = 0; i < tasks; i++) {
    lines.push(`    - name: No-op ${i}`, "      ansible.builtin.stat:", "        path: /etc/hostname");
  }
  return `${lines.join("\n")}\n`;
}

const dir = mkdtempSync(join(tmpdir(), "infra-bench-strategy-"));
try {
  const versions = await loadVersions(PACKAGE_ROOT);
  const path = toolPath(process.env, versions);
  const ansibleDir = join(PACKAGE_ROOT, "ansible");
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: path,
    ANSIBLE_CACHE_PLUGIN_CONNECTION: join(dir, "facts"),
    ANSIBLE_LOCAL_TEMP: join(dir, "tmp"),
    ANSIBLE_PYTHON_INTERPRETER: join(venvDir(process.env, versions), "bin", "python"),
  };
  const mitogen = await resolveStrategy({ ...base, [STRATEGY_ENV]: "mitogen" }, (message) => {
    throw new Error(message);
  });
  if (mitogen?.name !== "mitogen") throw new Error("Mitogen did not resolve");
  const strategies: AnsibleStrategy[] = [{ name: "linear" }, mitogen];
  const pin = versions.tools.find((t) => t.name === "mitogen");
  const mitogenVersion = pin && "version" in pin ? pin.version : "?";
  writeFileSync(join(dir, "hosts.yml"), "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n");
  writeFileSync(join(dir, "empty.yml"), playbook(0));
  writeFileSync(join(dir, "tasks.yml"), playbook(TASKS));
  const timed = existsSync(TIME);

  /** One ansible-playbook run: wall and CPU (user + system of it and its children) seconds. */
  const run = (strategy: AnsibleStrategy, file: string) => {
    const env = playbookEnv(base, ansibleDir, path, strategy);
    env.ANSIBLE_STDOUT_CALLBACK = "ansible.builtin.null";
    const args = ["-i", join(dir, "hosts.yml"), join(dir, file)];
    const start = performance.now();
    const result = timed
      ? spawnSync(TIME, ["-f", "CPU %U %S", "ansible-playbook", ...args], {
          cwd: ansibleDir,
          env,
          encoding: "utf8",
        })
      : spawnSync("ansible-playbook", args, { cwd: ansibleDir, env, encoding: "utf8" });
    const wall = (performance.now() - start) / 1000;
    if (result.status !== 0)
      throw new Error(`${strategy.name} ${file} failed:\n${result.stdout}${result.stderr}`);
    const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
    return { wall, cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN };
  };

  const perTask: Record<string, { wall: number[]; cpu: number[]; empty: number[]; emptyCpu: number[] }> = {};
  for (const s of strategies) perTask[s.name] = { wall: [], cpu: [], empty: [], emptyCpu: [] };
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? strategies : [...strategies].reverse();
    for (const strategy of order) {
      const empty = run(strategy, "empty.yml");
      const full = run(strategy, "tasks.yml");
      const figures = perTask[strategy.name];
      if (!figures) continue;
      figures.wall.push((full.wall - empty.wall) / TASKS);
      figures.cpu.push((full.cpu - empty.cpu) / TASKS);
      figures.empty.push(empty.wall);
      figures.emptyCpu.push(empty.cpu);
    }
  }
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  const line = (name: string, label: string) => {
    const f = perTask[name];
    if (!f) return "";
    const cpu = timed ? `, CPU ${ms(median(f.cpu))}` : "";
    return `  ${label.padEnd(32)} per task: wall ${ms(median(f.wall))}${cpu}   (empty playbook: ${median(f.empty).toFixed(1)} s wall${timed ? `, ${median(f.emptyCpu).toFixed(1)} s CPU` : ""})`;
  };
  const ratio = median(perTask.mitogen?.wall ?? []) / median(perTask.linear?.wall ?? []);
  const cpuRatio = median(perTask.mitogen?.cpu ?? []) / median(perTask.linear?.cpu ?? []);
  process.stdout.write(
    [
      `Ansible per-task cost, ${TASKS} no-op tasks (ansible.builtin.stat) on localhost, connection local (${RUNS} runs each, order alternated, median; load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores):`,
      line("linear", "linear (Ansible's default)"),
      line("mitogen", `mitogen_linear (Mitogen ${mitogenVersion})`),
      `  Mitogen / linear: wall ${ratio.toFixed(2)}×${timed ? `, CPU ${cpuRatio.toFixed(2)}×` : ""}`,
      "",
    ].join("\n"),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
