#!/usr/bin/env node
/**
 * The only place that reads argv, prints results and sets the exit code.
 * Commands return data (an Outcome); errors are InfraErrors with a code, a place and a hint.
 */
import { CommanderError } from "commander";
import { buildProgram } from "./cli.js";
import type { CommandContext } from "./context.js";
import { type ErrorDetail, ExitCode, formatLocation, InfraError } from "./errors.js";
import type { Outcome } from "./outcome.js";
import { streamReporter } from "./ui/reporter.js";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const controller = new AbortController();

process.on("SIGINT", () => {
  if (controller.signal.aborted) process.exit(ExitCode.interrupted);
  process.stderr.write("\nAborting... press Ctrl-C again to exit now.\n");
  controller.abort(new InfraError("INTERRUPTED", "interrupted", { kind: "interrupted" }));
});

// `infra backup logs X | head`: the reader left early; that is not a failure of the command
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(ExitCode.ok);
});

const context: CommandContext = {
  cwd: process.cwd(),
  env: process.env,
  reporter: streamReporter((line) => process.stderr.write(`${line}\n`)),
  interactive: Boolean(process.stdin.isTTY) && !json,
  signal: controller.signal,
};

let delivered: Outcome | undefined;
const program = buildProgram(context, (outcome) => {
  delivered = outcome;
});

function printDetail(detail: ErrorDetail): void {
  const where = formatLocation(detail.location);
  const mark = detail.severity === "warning" ? "!" : "✗";
  process.stderr.write(`  ${mark} ${where ? `${where}: ` : ""}${detail.message} [${detail.code}]\n`);
  if (detail.hint) process.stderr.write(`    hint: ${detail.hint}\n`);
}

function fail(error: unknown): number {
  if (error instanceof InfraError) {
    if (json) {
      const { code, message, hint, location, details } = error;
      process.stdout.write(
        `${JSON.stringify({ ok: false, error: { code, message, hint, location, details } }, null, 2)}\n`,
      );
    } else {
      const where = formatLocation(error.location);
      process.stderr.write(`✗ ${where ? `${where}: ` : ""}${error.message}\n`);
      for (const detail of error.details) printDetail(detail);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    }
    return error.exitCode;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`✗ internal error — please report it with this output:\n${text}\n`);
  return ExitCode.internal;
}

async function main(): Promise<number> {
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are printed by commander itself and exit 0; usage errors exit 2.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return fail(error);
  }
  if (!delivered) return ExitCode.ok;
  if (json) process.stdout.write(`${JSON.stringify(delivered.data, null, 2)}\n`);
  else {
    const text = delivered.human(delivered.data);
    if (text) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
  return delivered.exitCode ?? ExitCode.ok;
}

process.exitCode = await main();
