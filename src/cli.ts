/**
 * Assembles the command tree. Each slice declares its own commands, options and examples in its
 * `commands.ts` (see command-declaration.ts); this file only turns the declarations into
 * commander commands, adds the options every command or every cluster command shares, and
 * hands each command's Outcome to bin.ts. Bodies are imported lazily by the declarations, so
 * `infra --help` loads nothing heavy.
 */
import { Command, Option } from "commander";
import { appCommands } from "./app/commands.js";
import { backupCommands } from "./backup/commands.js";
import { checkCommands } from "./check/commands.js";
import { clusterCommands } from "./cluster/commands.js";
import {
  type CommandDeclaration,
  CommandInput,
  type Declaration,
  type OptionDeclaration,
} from "./command-declaration.js";
import type { CommandContext, GlobalOptions } from "./context.js";
import { dnsCommands } from "./dns/commands.js";
import { drCommands, statusCommands } from "./dr/commands.js";
import { initCommands } from "./init/commands.js";
import { KUBE_ACCESS_OPTIONS } from "./kube/access-options.js";
import { nodeCommands } from "./node/commands.js";
import type { Outcome } from "./outcome.js";
import { planCommands } from "./plan/commands.js";
import { renderCommands } from "./render/commands.js";
import { toolchainCommands } from "./toolchain/commands.js";
import { upCommands } from "./up/commands.js";
import { VERSION } from "./version.js";

export type Deliver = (outcome: Outcome) => void;

/** Every command of the CLI, in the order of `infra --help`. */
export const DECLARATIONS: readonly Declaration[] = [
  ...initCommands,
  ...renderCommands,
  ...checkCommands,
  ...planCommands,
  ...upCommands,
  ...clusterCommands,
  ...nodeCommands,
  ...dnsCommands,
  ...backupCommands,
  ...drCommands,
  ...appCommands,
  ...statusCommands,
  ...toolchainCommands,
];

export function buildProgram(context: CommandContext, deliver: Deliver): Command {
  const program = new Command("infra")
    .description("Run one K3s cluster on VPSs from several providers, joined over Tailscale.")
    .version(VERSION, "-V, --version", "print the version")
    .option("-c, --config <file>", "cluster config (default: ./cluster.yaml, else cluster.example.yaml)")
    .option("--json", "print the result as JSON (read commands)")
    .option("-v, --verbose", "print more detail")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  for (const declaration of DECLARATIONS) {
    if (declaration.kind === "command") addCommand(program, declaration, context, deliver);
    else {
      const parent = program.command(declaration.name).description(declaration.summary);
      for (const child of declaration.commands) addCommand(parent, child, context, deliver);
    }
  }
  return program;
}

function addCommand(
  parent: Command,
  declaration: CommandDeclaration,
  context: CommandContext,
  deliver: Deliver,
): Command {
  const command = parent.command(declaration.name).description(declaration.summary);
  for (const argument of declaration.args ?? []) command.argument(argument.name, argument.description);
  const options = [...(declaration.options ?? []), ...(declaration.cluster ? KUBE_ACCESS_OPTIONS : [])];
  for (const option of options) command.addOption(toOption(option));
  command.addHelpText("after", examplesText(declaration.examples));
  command.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const input = new CommandInput(self.args, self.optsWithGlobals());
    deliver(await declaration.run(context, input));
  });
  return command;
}

function toOption(declaration: OptionDeclaration): Option {
  const option = new Option(declaration.flags, declaration.description);
  if (declaration.default !== undefined) option.default(declaration.default);
  if (declaration.choices) option.choices(declaration.choices);
  return option;
}

function examplesText(examples: readonly string[]): string {
  return `\nExamples:\n${examples.map((example) => `  ${example}`).join("\n")}`;
}

export type { GlobalOptions };
