/**
 * Cold install benchmark: a new clone of this repository (HEAD), every cache empty (the tool cache,
 * Go's module and build caches, npm's and pip's caches, all pointed at new directories), then
 * `./infra --version` (the launcher's npm ci and build) and `./infra tools install` — the user
 * group, or both groups with TESTS=1. Prints the wall time and the CPU time of each step.
 *
 *   npm run bench:tools              # the user group
 *   TESTS=1 npm run bench:tools      # --tests: both groups (about 20 minutes on 2 cores)
 *
 * Debian packages (apt) are not removed first: they are the system's, so a tool already installed
 * there counts as installed. Run it at `nice -n 10` on a shared machine; it takes both cores.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/package-root.js";

const tests = process.env.TESTS === "1";
const work = mkdtempSync(join(tmpdir(), "infra-bench-tools-"));
const clone = join(work, "clone");
const caches = Object.fromEntries(
  ["INFRA_CACHE_DIR", "GOMODCACHE", "GOCACHE", "npm_config_cache", "PIP_CACHE_DIR"].map((name) => {
    const dir = join(work, name.toLowerCase());
    mkdirSync(dir);
    return [name, dir];
  }),
);
const env = { ...process.env, ...caches };

function timed(
  label: string,
  command: string[],
  cwd: string,
): { wall: number; user: number; system: number } {
  const times = join(work, `${label}.time`);
  const result = spawnSync("/usr/bin/time", ["-f", "%e %U %S", "-o", times, ...command], {
    cwd,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (result.status !== 0) throw new Error(`${command.join(" ")} exited ${result.status}`);
  const [wall = 0, user = 0, system = 0] = readFileSync(times, "utf8").trim().split(/\s+/).map(Number);
  return { wall, user, system };
}

try {
  const cloned = spawnSync("git", ["clone", "--quiet", PACKAGE_ROOT, clone], { stdio: "inherit" });
  if (cloned.status !== 0) throw new Error("git clone failed");
  const launcher = timed("launcher", ["./infra", "--version"], clone);
  const install = timed("install", ["./infra", "tools", "install", ...(tests ? ["--tests"] : [])], clone);
  const line = (name: string, t: { wall: number; user: number; system: number }) =>
    `${name}: ${t.wall.toFixed(0)} s wall, ${t.user.toFixed(0)} s user + ${t.system.toFixed(0)} s system CPU`;
  console.log(line("launcher (npm ci, build)", launcher));
  console.log(
    line(`tools install${tests ? " --tests" : ""} (${tests ? "both groups" : "the user group"})`, install),
  );
  console.log(`total: ${(launcher.wall + install.wall).toFixed(0)} s wall`);
} finally {
  // Go's module cache is read-only on disk; make it removable.
  spawnSync("chmod", ["-R", "u+w", work]);
  rmSync(work, { recursive: true, force: true });
}
