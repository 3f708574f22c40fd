/**
 * `infra plan` on a generated 200-node cluster (3 servers, 197 agents over four providers), through
 * the built CLI as a user runs it (`node dist/bin.js plan --config ...`, process start included), and
 * in-process (load + validate + plan + render the text). Prints the median of several runs (wall and
 * CPU time: on a shared machine the wall time includes waiting for a core); the
 * target is under 1 s. Run: npm run bench:plan (builds first).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { planCommand } from "../src/plan/plan-command.js";
import { silentReporter } from "../src/ui/reporter.js";

const NODES = Number(process.env.BENCH_NODES ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PROVIDERS = ["hetzner", "vultr", "aws", "generic"];

function clusterYaml(count: number): string {
  const base = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
  const nodes = Array.from({ length: count }, (_, i) => {
    const provider = i < 3 ? "hetzner" : (PROVIDERS[i % PROVIDERS.length] ?? "generic");
    return [
      `  - name: ${provider}-${i}`,
      `    role: ${i < 3 ? "server" : "agent"}`,
      `    provider: ${provider}`,
      `    region: region-${i % 7}`,
      `    publicIPv4: 5.${10 + Math.floor(i / 200)}.${i % 200}.${1 + (i % 250)}`,
      ...(i < 3 ? [`    tailscaleIPv4: 100.64.0.${i + 1}`] : []),
      `    ingress: ${i % 20 === 3}`,
      "    labels:",
      `      example.com/pool: pool-${i % 5}`,
      "    taints: []",
    ].join("\n");
  }).join("\n");
  return base.replace(/\nnodes:\n[\s\S]*?\n(?=acme:)/, `\nnodes:\n${nodes}\n\n`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const dir = mkdtempSync(join(tmpdir(), "infra-bench-plan-"));
try {
  const config = join(dir, "cluster.yaml");
  writeFileSync(config, clusterYaml(NODES));
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
      `infra plan, ${NODES} nodes (${RUNS} runs, median; load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores):`,
      `  CLI wall time (node dist/bin.js plan, process start included): ${median(cli).toFixed(0)} ms  (${verdict} the 1 s target)`,
      `  CLI CPU time (user + system of that process):                  ${median(cliCpu).toFixed(0)} ms`,
      `  in-process wall time (load, validate, plan, render):           ${median(inProcess).toFixed(0)} ms`,
      "",
    ].join("\n"),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
