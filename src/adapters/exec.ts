import { type ChildProcess, spawn } from "node:child_process";
import { Readable } from "node:stream";
import { InfraError } from "../errors.js";
import { commandLine, trace } from "../ui/trace.js";

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Standard input: a string, or chunks written as they come (the program may start on the first). */
  input?: string | AsyncIterable<string>;
  signal?: AbortSignal;
  /** Called with each complete line of stdout/stderr as it arrives (for progress). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Reject on a non-zero exit (default true). */
  check?: boolean;
  timeoutMs?: number;
}

export interface ExecResult {
  command: string;
  args: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The last lines of a tool's output, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** How long a cancelled program may take to stop after SIGTERM before it gets SIGKILL. */
export const STOP_GRACE_MS = 3000;

/**
 * Stops a program and everything it started: the child leads its own process group (detached),
 * so SIGTERM reaches ansible-playbook's forks and tofu's providers too, then SIGKILL after the
 * grace period. Nothing is left running behind an interrupted `infra`.
 */
function stopGroup(child: ChildProcess): void {
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  signalGroup("SIGTERM");
  const killer = setTimeout(() => signalGroup("SIGKILL"), STOP_GRACE_MS);
  killer.unref();
  child.once("close", () => {
    // the leader is gone; make sure no member of its group outlives it
    signalGroup("SIGKILL");
    clearTimeout(killer);
  });
}

/**
 * Runs an external program without a shell. Every adapter goes through here, so failures
 * look alike: TOOL_FAILED with the command, its exit code and the tail of its stderr. A
 * cancelled `signal` (the first Ctrl-C) stops the program's whole process group and rejects
 * with the signal's reason; `--verbose` prints each command line (secrets redacted).
 */
export function exec(
  command: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    trace(`exec: ${commandLine(command, args)}${options.cwd ? ` (in ${options.cwd})` : ""}`);
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // its own process group, so that a cancel reaches everything it starts (stopGroup)
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const onAbort = () => stopGroup(child);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // Our own timer rather than spawn's `timeout`: spawn's is not cleared when the program is not
    // found, and would keep the CLI alive until it fires.
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => stopGroup(child), options.timeoutMs);
    let stdout = "";
    let stderr = "";
    const pending = { stdout: "", stderr: "" };
    const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      if (stream === "stdout") stdout += text;
      else stderr += text;
      if (!options.onLine) return;
      const lines = (pending[stream] + text).split("\n");
      pending[stream] = lines.pop() ?? "";
      for (const line of lines) options.onLine(line, stream);
    };
    child.stdout.on("data", collect("stdout"));
    child.stderr.on("data", collect("stderr"));
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (error.code === "ENOENT") {
        reject(
          new InfraError("TOOL_NOT_FOUND", `${command} was not found on PATH`, {
            kind: "preflight",
            hint: "run `./infra doctor` to see which tools are missing and how to install them",
            cause: error,
          }),
        );
      } else reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      if (options.onLine) {
        if (pending.stdout) options.onLine(pending.stdout, "stdout");
        if (pending.stderr) options.onLine(pending.stderr, "stderr");
      }
      const result: ExecResult = { command, args, exitCode: code ?? 128, stdout, stderr };
      if ((options.check ?? true) && result.exitCode !== 0) {
        const why = signal ? `was stopped by ${signal}` : `exited with ${result.exitCode}`;
        reject(
          new InfraError("TOOL_FAILED", `${command} ${why}: ${tail(stderr || stdout, 8) || "(no output)"}`, {
            hint: `the command was: ${[command, ...args].join(" ")}`,
          }),
        );
      } else resolve(result);
    });
    // A program that exits before reading all of its input is reported by its exit code, not EPIPE.
    child.stdin.on("error", () => undefined);
    if (typeof options.input === "string") child.stdin.end(options.input);
    else if (options.input !== undefined) Readable.from(options.input).pipe(child.stdin);
    else child.stdin.end();
  });
}
