import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/package-root.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (dist/bin.js; the tier scripts build first) and captures everything. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): CliRun {
  const result = spawnSync(process.execPath, [join(PACKAGE_ROOT, "dist", "bin.js"), ...args], {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    input: options.input ?? "",
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export interface RunningCli {
  child: ChildProcess;
  /** stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr matches (e.g. a progress line), rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<void>;
  done: Promise<CliRun>;
}

/** Starts the built CLI without waiting for it, for tests that act while it runs (signals, outages). */
export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): RunningCli {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, "dist", "bin.js"), ...args], {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  const done = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? -1 : -1), stdout, stderr }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(stderr)) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
        void done.then((run) => {
          if (!pattern.test(stderr))
            reject(new Error(`exited ${run.code} before ${pattern}:\n${run.stderr}`));
        });
      }),
  };
}
