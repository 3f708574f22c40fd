/**
 * `infra check` over the whole committed tree, warm (schemas cached, kustomize and kubeconform built):
 * one warm-up run, then BENCH_RUNS runs (default 5). Prints each duration and the median.
 * Target: under 3 s on the project's 2-core machines. Run: npm run bench:check
 */
import { rm } from "node:fs/promises";
import { checkCommand } from "../src/check/check-command.js";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { toolPath } from "../src/toolchain/paths.js";
import { loadVersions } from "../src/toolchain/versions.js";
import { context, copyCommittedTree, isolatedEnv } from "../test/static/check-helpers.js";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const root = await copyCommittedTree();
const env = await isolatedEnv();
env.PATH = toolPath(env, await loadVersions(PACKAGE_ROOT));
try {
  const warm = await checkCommand(context(root, env));
  if (!warm.data.ok) throw new Error(`the committed tree does not pass:\n${warm.human(warm.data)}`);
  const times: number[] = [];
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = await checkCommand(context(root, env));
    times.push((performance.now() - started) / 1000);
    for (const [phase, ms] of Object.entries(result.data.timings)) {
      phases[phase] = [...(phases[phase] ?? []), ms];
    }
  }
  const med = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  console.log(`runs: ${times.map((t) => t.toFixed(2)).join(" ")} s`);
  console.log(
    `median per phase: ${Object.entries(phases)
      .map(([phase, values]) => `${phase} ${med(values)} ms`)
      .join(", ")}`,
  );
  console.log(
    `load average: ${(await import("node:os"))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} (2 cores)`,
  );
  console.log(
    `infra check (whole tree: ${warm.data.kustomizations} kustomizations, ${warm.data.resources} resources), warm median: ${median.toFixed(2)} s`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
