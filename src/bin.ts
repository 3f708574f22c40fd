#!/usr/bin/env node
/**
 * The only place that reads argv, handles signals, prints results and sets the exit code.
 * Commands return data (an Outcome); errors are InfraErrors with a code, a place and a hint.
 *
 * Interrupts: the first Ctrl-C or SIGTERM aborts the commands' signal, which cancels in-flight
 * API requests and stops child programs (their whole process group); the command ends with an
 * INTERRUPTED error whose hint says what state is left, and infra exits 130, within 5 s in any
 * case. A second Ctrl-C exits at once.
 */
// First: V8's settings apply to everything loaded after them.
import "./runtime-flags.js";
import { CommanderError } from "commander";
import { buildProgram, unknownCommand } from "./cli.js";
import type { CommandContext } from "./context.js";
import { ExitCode, InfraError } from "./errors.js";
import type { Outcome } from "./outcome.js";
import { repositoryRoot } from "./root.js";
import { colorEnabled, colors } from "./ui/colors.js";
import { errorData, humanError, outputFormat, serialize } from "./ui/output.js";
import { streamReporter } from "./ui/reporter.js";
import { setTrace } from "./ui/trace.js";

/** How long after the first interrupt infra exits whatever the command is doing. */
const INTERRUPT_DEADLINE_MS = 4500;

const argv = process.argv.slice(2);
const format = outputFormat(argv);
const before = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
const quiet = before.includes("-q") || before.includes("--quiet");
const verbose = before.includes("-v") || before.includes("--verbose");
const err = colors(colorEnabled(process.stderr, process.env));
const writeErr = (line: string) => process.stderr.write(`${line}\n`);
if (verbose) setTrace((line) => writeErr(err.dim(`+ ${line}`)));

const controller = new AbortController();
function onSignal(signal: NodeJS.Signals): void {
  if (controller.signal.aborted) {
    writeErr(err.red(`✗ ${signal} again: exiting now`));
    process.exit(ExitCode.interrupted);
  }
  writeErr(`\n${signal === "SIGINT" ? "Ctrl-C" : signal}: stopping (again to exit at once)`);
  controller.abort(
    new InfraError("INTERRUPTED", `interrupted by ${signal}`, {
      kind: "interrupted",
      hint: "nothing was in progress that needs attention; run the command again when ready",
    }),
  );
  setTimeout(() => {
    writeErr(err.red(`✗ interrupted by ${signal}; the command did not stop within 5 s, exiting`));
    process.exit(ExitCode.interrupted);
  }, INTERRUPT_DEADLINE_MS).unref();
}
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

// `infra backup logs X | head`: the reader left early; that is not a failure of the command
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(ExitCode.ok);
});

const workdir = process.cwd();
const context: CommandContext = {
  cwd: repositoryRoot(workdir),
  workdir,
  env: process.env,
  reporter: streamReporter(writeErr, { quiet, colors: err }),
  interactive: Boolean(process.stdin.isTTY) && format === "human",
  signal: controller.signal,
};

let delivered: Outcome | undefined;
const program = buildProgram(context, (outcome) => {
  delivered = outcome;
});
program.configureOutput({ outputError: (text, write) => write(err.red(text)) });

async function fail(error: unknown): Promise<number> {
  if (error instanceof InfraError) {
    if (format !== "human") process.stdout.write(await serialize(errorData(error), format));
    else process.stderr.write(humanError(error, err));
    return controller.signal.aborted ? ExitCode.interrupted : error.exitCode;
  }
  if (controller.signal.aborted) return fail(controller.signal.reason);
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  writeErr(err.red(`✗ internal error — please report it with this output:\n${text}`));
  return ExitCode.internal;
}

async function main(): Promise<number> {
  const unknown = unknownCommand(program, argv);
  if (unknown) return fail(unknown);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are printed by commander itself and exit 0; usage errors exit 2.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return fail(error);
  }
  if (controller.signal.aborted) return fail(controller.signal.reason);
  if (!delivered) return ExitCode.ok;
  if (format !== "human") process.stdout.write(await serialize(delivered.data, format));
  else {
    const text = delivered.human(delivered.data);
    if (text) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
  return delivered.exitCode ?? ExitCode.ok;
}

const code = await main();
if (controller.signal.aborted) {
  // in-flight work has been cancelled; do not wait for sockets or timers to drain
  process.stderr.write("", () => process.exit(code));
} else process.exitCode = code;
