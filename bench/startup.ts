/**
 * Startup benchmark: how long `infra --help` takes (node start + command tree, no heavy imports).
 * Target (issue #2): under 300 ms on the project's 2-core machines. Prints the median of N runs.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/package-root.js";

const runs = Number(process.env.RUNS ?? 20);
const bin = join(PACKAGE_ROOT, "dist", "bin.js");
const times: number[] = [];
for (let i = 0; i < runs + 2; i++) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`infra --help exited ${result.status}: ${result.stderr}`);
  if (i >= 2) times.push(ms); // the first two warm the file cache
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
const p90 = times[Math.floor(times.length * 0.9)] ?? Number.NaN;
console.log(
  `infra --help: median ${median.toFixed(0)} ms, p90 ${p90.toFixed(0)} ms over ${runs} runs (target < 300 ms)`,
);
