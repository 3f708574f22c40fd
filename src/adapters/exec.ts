import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { InfraError } from "../errors.js";

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

/**
 * Runs an external program without a shell. Every adapter goes through here, so failures
 * look alike: TOOL_FAILED with the command, its exit code and the tail of its stderr.
 */
export function exec(
  command: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      signal: options.signal,
      stdio: ["pipe", "pipe", "pipe"],
    });
    // Our own timer rather than spawn's `timeout`: spawn's is not cleared when the program is not
    // found, and would keep the CLI alive until it fires.
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGTERM"), options.timeoutMs);
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
