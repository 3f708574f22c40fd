/**
 * The user's side of the hosts tier: a temporary repository (a copy of the tracked tree, as a clone
 * would have it) and the `infra` CLI run in it — the built dist/bin.js, as `./infra` runs it. Every
 * process started here is tracked and killed when the test process exits, whatever the path out.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { exec } from "../../../src/adapters/exec.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { INFRA_RUN_TIMEOUT_MS } from "../../helpers/timeouts.js";

/** Copies the files Git tracks (what a fresh clone holds) into `dir` and makes it a Git repository. */
export async function makeRepository(dir: string): Promise<string> {
  const tracked = (await exec("git", ["ls-files", "-z"], { cwd: PACKAGE_ROOT })).stdout
    .split("\0")
    .filter(Boolean);
  await mkdir(dir, { recursive: true });
  for (const file of tracked) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await cp(join(PACKAGE_ROOT, file), join(dir, file), { preserveTimestamps: true });
  }
  await exec("git", ["init", "-q", "-b", "main"], { cwd: dir });
  return dir;
}

export interface InfraRun {
  args: string[];
  code: number;
  stdout: string;
  /** Progress and errors (infra prints them on stderr). */
  stderr: string;
  /** stdout parsed, for --json runs. */
  json: unknown;
  seconds: number;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Runs `infra ARGS` in the repository. `onLine` sees each stderr line as it comes (progress: phases,
 * per-host changes, unreachable hosts); `log` receives every line with its time, for the artifacts.
 */
export function infra(
  repo: string,
  args: string[],
  options: {
    env: NodeJS.ProcessEnv;
    onLine?: (line: string) => void;
    logFile?: string;
    signal?: AbortSignal;
    /** Called with the process once started (to send it a signal). */
    onStart?: (child: ChildProcess) => void;
    /** Runs it in this network namespace (`ip netns exec` replaces itself with infra): another machine's view. */
    netns?: string;
  },
): Promise<InfraRun> {
  const started = Date.now();
  const log = options.logFile ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
  log?.write(`\n===== infra ${args.join(" ")} (${new Date().toISOString()})\n`);
  return new Promise((resolve, reject) => {
    const command = [process.execPath, join(PACKAGE_ROOT, "dist", "bin.js"), ...args];
    const inNetns = options.netns ? ["ip", "netns", "exec", options.netns, ...command] : command;
    const child = spawn(inNetns[0] as string, inNetns.slice(1), {
      cwd: repo,
      env: { ...options.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    options.onStart?.(child);
    let timedOut = false;
    let lastLine = "";
    const timer = setTimeout(() => {
      // Hung: interrupted as an operator would (the command records where it was), killed if it lingers.
      timedOut = true;
      child.kill("SIGINT");
      setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
    }, INFRA_RUN_TIMEOUT_MS);
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      stderr += text;
      const lines = (pending + text).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        log?.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(7)}s] ${line}\n`);
        if (line.trim()) lastLine = line;
        options.onLine?.(line);
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (pending) options.onLine?.(pending);
      const seconds = (Date.now() - started) / 1000;
      log?.end(`===== exit ${code ?? signal} after ${seconds.toFixed(1)}s\n${stdout}\n`);
      let json: unknown;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      if (timedOut) {
        reject(
          new Error(
            `infra ${args.join(" ")} was stopped after ${INFRA_RUN_TIMEOUT_MS / 60_000} min, hung after: ${lastLine}`,
          ),
        );
        return;
      }
      resolve({ args, code: code ?? 128, stdout, stderr, json, seconds });
    });
  });
}

/** `label: message` of a failed run, for assertion messages. */
export function describeInfra(run: InfraRun): string {
  return `infra ${run.args.join(" ")} → exit ${run.code} after ${run.seconds.toFixed(0)}s\n${run.stderr.split("\n").slice(-25).join("\n")}\n${run.stdout.slice(0, 3000)}`;
}
