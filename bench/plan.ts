/**
 * `infra plan` on a generated 1,000-node cluster.yaml written with anchors, aliases and merge keys
 * (3 servers, agents merging one anchored agent: test/helpers/large-cluster.ts), through the built
 * CLI as a user runs it (`node dist/bin.js plan --config ...`, process start included), and
 * in-process (load + validate + plan + render the text). Prints the median of several runs (wall
 * and CPU time: on a shared machine the wall time includes waiting for a core); the target is
 * under 1 s. Run: npm run bench:plan (builds first); BENCH_NODES and BENCH_RUNS change the size.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { planCommand } from "../src/plan/plan-command.js";
import { silentReporter } from "../src/ui/reporter.js";
import { largeClusterYaml } from "../test/helpers/large-cluster.js";

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const dir = mkdtempSync(join(tmpdir(), "infra-bench-plan-"));
try {
  const config = join(dir, "cluster.yaml");
  const text = largeClusterYaml(NODES);
  writeFileSync(config, text);
  const bin = join(PACKAGE_ROOT, "dist", "bin.js");

  // The CLI's own CPU time, reported by a preload at exit: on a shared machine wall time includes
  // waiting for a core, CPU time does not.
  const preload = join(dir, "cpu.cjs");
  writeFileSync(
    preload,
    "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\nCPU_US ' + (u.user + u.system) + '\\n'); });\n",
  );
  const cli: number[] = [];
  const cliCpu: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const result = spawnSync(process.execPath, ["--require", preload, bin, "plan", "--config", config], {
      cwd: PACKAGE_ROOT,
      encoding: "utf8",
    });
    cli.push(performance.now() - start);
    if (result.status !== 0) throw new Error(`infra plan failed:\n${result.stderr}`);
    cliCpu.push(Number(/CPU_US (\d+)/.exec(result.stderr)?.[1] ?? Number.NaN) / 1000);
    if (run === 0 && !result.stdout.includes(`${NODES - 3} agent(s)`))
      throw new Error("the plan does not show every node");
  }

  const inProcess: number[] = [];
  const ctx = { cwd: PACKAGE_ROOT, env: {}, reporter: silentReporter, interactive: false };
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const result = await planCommand(ctx, { config });
    result.human(result.data);
    inProcess.push(performance.now() - start);
  }

  const verdict = median(cli) < 1000 ? "under" : "OVER";
  process.stdout.write(
    [
      `infra plan, ${NODES} nodes written with anchors and merge keys (${(text.length / 1024).toFixed(0)} KB; ${RUNS} runs, median; load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores):`,
      `  CLI wall time (node dist/bin.js plan, process start included): ${median(cli).toFixed(0)} ms  (${verdict} the 1 s target)`,
      `  CLI CPU time (user + system of that process):                  ${median(cliCpu).toFixed(0)} ms`,
      `  in-process wall time (load, validate, plan, render):           ${median(inProcess).toFixed(0)} ms`,
      "",
    ].join("\n"),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
