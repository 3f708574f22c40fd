import { type Command, CommanderError } from "commander";
import { buildProgram } from "../../src/cli.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { silentReporter } from "../../src/ui/reporter.js";

/** The real command tree with every action replaced by a no-op: parsing only, nothing runs. */
export function parserOnly(): Command {
  const program = buildProgram(
    { cwd: PACKAGE_ROOT, env: process.env, reporter: silentReporter, interactive: false },
    () => undefined,
  );
  const silence = (command: Command) => {
    command.exitOverride();
    command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    // Only leaves run actions; giving a group an action would make it accept stray arguments.
    if (command.commands.length === 0) command.action(() => undefined);
    for (const sub of command.commands) silence(sub);
  };
  silence(program);
  return program;
}

/** The parser's error for argv (after `infra`), or undefined when it parses (help and version included). */
export async function parseError(argv: string[]): Promise<string | undefined> {
  try {
    await parserOnly().parseAsync(argv, { from: "user" });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return undefined; // --help / --version
    return error instanceof Error ? error.message : String(error);
  }
}
