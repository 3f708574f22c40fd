/**
 * Startup benchmark, two figures (medians of N runs, after two warm-up runs):
 *  1. `infra --help`: node start + command tree, no heavy imports. Target < 300 ms.
 *  2. the cost before the first API request of a cluster command: from spawning
 *     `infra backup list` to its first request arriving at a loopback listener named by a
 *     temporary kubeconfig. Target <= 300 ms.
 * Also printed: a bare `node -e 0`, so the figures can be read on a loaded machine, and `./infra --help`
 * through the launcher (its own checks on top of figure 1).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/package-root.js";

const runs = Number(process.env.RUNS ?? 20);
const bin = join(PACKAGE_ROOT, "dist", "bin.js");

function stats(times: number[]): { median: number; p90: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    p90: sorted[Math.floor(sorted.length * 0.9)] ?? Number.NaN,
  };
}

function timeSync(args: string[], command = process.execPath): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    if (i >= 2) times.push(ms); // the first two warm the file cache
  }
  return times;
}

/** Spawns `infra backup list` against a listener and measures until its first request arrives. */
async function firstRequest(): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "infra-bench-startup-"));
  let arrived: (() => void) | undefined;
  const server = createServer((_req, res) => {
    arrived?.();
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", message: "bench", reason: "NotFound" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: bench, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      "users: [{name: bench, user: {token: bench}}]",
      "contexts: [{name: bench, context: {cluster: bench, user: bench}}]",
      "current-context: bench",
      "",
    ].join("\n"),
  );
  const times: number[] = [];
  try {
    for (let i = 0; i < runs + 2; i++) {
      const start = process.hrtime.bigint();
      const first = new Promise<number>((resolve) => {
        arrived = () => {
          arrived = undefined;
          resolve(Number(process.hrtime.bigint() - start) / 1e6);
        };
      });
      const child = spawn(process.execPath, [bin, "backup", "list", "--kubeconfig", kubeconfig], {
        cwd: dir,
        stdio: "ignore",
      });
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const ms = await Promise.race([first, exited.then(() => Number.NaN)]);
      await exited;
      if (Number.isNaN(ms)) throw new Error("infra backup list exited before sending a request");
      if (i >= 2) times.push(ms);
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}

const node = stats(timeSync(["-e", "0"]));
const help = stats(timeSync([bin, "--help"]));
// What a user types: the launcher checks Node's version and whether dist/ is current, then runs the CLI.
const launched = stats(timeSync(["--help"], join(PACKAGE_ROOT, "infra")));
const request = stats(await firstRequest());
const line = (label: string, s: { median: number; p90: number }, target?: string) =>
  `${label}: median ${s.median.toFixed(0)} ms, p90 ${s.p90.toFixed(0)} ms over ${runs} runs${target ? ` (target ${target})` : ""}`;
console.log(line("node -e 0 (baseline)", node));
console.log(line("infra --help", help, "< 300 ms"));
console.log(line("./infra --help (the launcher, then the CLI)", launched));
console.log(line("infra backup list, spawn to first API request", request, "<= 300 ms"));
