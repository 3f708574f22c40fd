/**
 * Assembles the command tree. Each slice declares its own commands, options and examples in its
 * `commands.ts` (see command-declaration.ts); this file only turns the declarations into
 * commander commands, adds the options the declaration's traits call for (global options, `-o`
 * on read commands, `--example` on commands that change things, kubeconfig options on cluster
 * commands), and hands each command's Outcome to bin.ts. Bodies are imported lazily by the declarations, so
 * `infra --help` loads nothing heavy.
 */
import { spawnSync } from "node:child_process";
import { Command, CommanderError, Option } from "commander";
import { appCommands } from "./app/commands.js";
import { backupCommands } from "./backup/commands.js";
import { checkCommands } from "./check/commands.js";
import { clusterCommands } from "./cluster/commands.js";
import {
  type CommandDeclaration,
  CommandInput,
  type CommandTree,
  type Declaration,
  type OptionDeclaration,
} from "./command-declaration.js";
import { completionCommands } from "./completion/commands.js";
import { closest } from "./config/suggest.js";
import type { CommandContext, GlobalOptions } from "./context.js";
import { dnsCommands } from "./dns/commands.js";
import { drCommands, statusCommands } from "./dr/commands.js";
import { InfraError } from "./errors.js";
import { initCommands } from "./init/commands.js";
import { KUBE_ACCESS_OPTIONS } from "./kube/access-options.js";
import { nodeCommands } from "./node/commands.js";
import type { Outcome } from "./outcome.js";
import { PACKAGE_ROOT } from "./package-root.js";
import { planCommands } from "./plan/commands.js";
import { renderCommands } from "./render/commands.js";
import { refuseExample, resolveConfigSource } from "./root.js";
import { secretsCommands } from "./secrets/commands.js";
import { tailnetCommands } from "./tailnet/commands.js";
import { toolchainCommands } from "./toolchain/commands.js";
import { tunnelCommands } from "./tunnel/commands.js";
import { upCommands } from "./up/commands.js";
import { upgradeCommands } from "./upgrade/commands.js";
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
  ...upgradeCommands,
  ...dnsCommands,
  ...tunnelCommands,
  ...tailnetCommands,
  ...backupCommands,
  ...drCommands,
  ...appCommands,
  ...statusCommands,
  ...secretsCommands,
  ...toolchainCommands,
  ...completionCommands,
];

/** Options every command takes (shown in every command's help). */
function globalOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        "-c, --config <file>",
        "cluster config (default: the repository's cluster.yaml, else its example)",
      ).env("INFRA_CONFIG"),
    )
    .option("--json", "print the result as JSON (same as -o json on read commands)")
    .option("-q, --quiet", "print only the result, warnings and errors")
    .option("-v, --verbose", "print each external command and API call (secrets redacted)");
}

export function buildProgram(context: CommandContext, deliver: Deliver): Command {
  const program = globalOptions(new Command("infra"))
    .description("Run one K3s cluster on VPSs from several providers, joined over Tailscale.")
    .option("-V, --version", "print the version and the commit")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  program.on("option:version", () => {
    const text = versionText();
    process.stdout.write(`${text}\n`);
    throw new CommanderError(0, "commander.version", text);
  });
  program.addHelpText(
    "after",
    examplesText(["infra init", "infra configure", "infra plan", "infra up --dry-run"]),
  );

  for (const declaration of DECLARATIONS) {
    if (declaration.kind === "command") addCommand(program, declaration, context, deliver);
    else {
      const parent = program.command(declaration.name).description(declaration.summary);
      for (const child of declaration.commands) addCommand(parent, child, context, deliver);
      parent.addHelpText("after", examplesText(declaration.commands.flatMap((c) => c.examples.slice(0, 1))));
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
  const options = [
    ...(declaration.options ?? []),
    ...(declaration.read ? [OUTPUT_OPTION] : []),
    ...(declaration.changes ? [EXAMPLE_OPTION] : []),
    ...(declaration.cluster ? KUBE_ACCESS_OPTIONS : []),
  ];
  for (const option of options) command.addOption(toOption(option));
  command.addHelpText("after", examplesText(declaration.examples));
  command.action(async (...args: unknown[]) => {
    const self = args[args.length - 1] as Command;
    const input = new CommandInput(self.args, self.optsWithGlobals(), () => commandTree(rootOf(self)));
    if (declaration.changes) refuseExampleUnlessTold(context, input, `infra ${commandPath(self)}`);
    deliver(await declaration.run(context, input));
  });
  return command;
}

const OUTPUT_OPTION: OptionDeclaration = {
  flags: "-o, --output <format>",
  description: "print the result as json or yaml",
  choices: ["json", "yaml"],
};

const EXAMPLE_OPTION: OptionDeclaration = {
  flags: "--example",
  description: "act on cluster.example.yaml when the repository has no cluster.yaml",
};

/** Commands that change something do not act on the example config unless --example says so. */
function refuseExampleUnlessTold(context: CommandContext, input: CommandInput, what: string): void {
  if (input.flag("example") || input.flag("dryRun") || input.flag("check")) return;
  const source = resolveConfigSource(context.cwd, context.workdir ?? context.cwd, input.string("config"));
  if (source.origin === "example") refuseExample(source, what);
}

function toOption(declaration: OptionDeclaration): Option {
  const option = new Option(declaration.flags, declaration.description);
  if (declaration.default !== undefined) option.default(declaration.default);
  if (declaration.choices) option.choices(declaration.choices);
  return option;
}

function examplesText(examples: readonly string[]): string {
  return `\nExamples:\n${examples.map((example) => `  $ ${example}`).join("\n")}\n`;
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** The commander tree as data, for shell completion. */
export function commandTree(command: Command): CommandTree {
  return {
    name: command.name(),
    summary: command.description(),
    options: command.options.map((o) => ({
      flags: [o.short, o.long].filter((f): f is string => Boolean(f)),
      takesValue: o.required || o.optional,
      ...(o.argChoices ? { choices: o.argChoices } : {}),
      description: o.description,
    })),
    args: command.registeredArguments.map((a) => a.name()),
    commands: command.commands.map(commandTree),
  };
}

/**
 * An unknown command or subcommand is a usage error (exit 2) with a suggestion, also when
 * `--help` follows it (commander would print the parent's help and exit 0, so a script could
 * not tell `infra upgrade --help` from a real command).
 */
export function unknownCommand(program: Command, argv: readonly string[]): InfraError | undefined {
  let current = program;
  const path: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") return undefined;
    if (word.startsWith("-")) {
      const flag = word.split("=")[0] ?? word;
      const option = [...current.options, ...program.options].find(
        (o) => o.short === flag || o.long === flag,
      );
      if (option && (option.required || option.optional) && !word.includes("=")) i++;
      continue;
    }
    if (current.commands.length === 0) return undefined;
    const names = current.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    if (names.includes(word) || (word === "help" && path.length === 0)) {
      if (word === "help") return undefined;
      current = current.commands.find((c) => c.name() === word || c.aliases().includes(word)) as Command;
      path.push(word);
      continue;
    }
    const suggestion =
      closest(word, names) ??
      names.find((name) => word.startsWith(name) || (word.length > 1 && name.startsWith(word)));
    const parent = ["infra", ...path].join(" ");
    return new InfraError(
      "UNKNOWN_COMMAND",
      `unknown command '${[...path, word].join(" ")}'${suggestion ? ` (did you mean '${[...path, suggestion].join(" ")}'?)` : ""}`,
      { kind: "usage", hint: `run \`${parent} --help\` to see the commands` },
    );
  }
  return undefined;
}

/** `0.1.0 (commit 1a2b3c4d5e6f)`: the commit is read only when asked (it costs a git call). */
function versionText(): string {
  const git = spawnSync("git", ["-C", PACKAGE_ROOT, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8" });
  const commit = git.status === 0 ? git.stdout.trim() : "unknown";
  const dirty =
    git.status === 0 &&
    spawnSync("git", ["-C", PACKAGE_ROOT, "diff", "--quiet", "HEAD", "--", "src", "package.json"]).status ===
      1;
  return `${VERSION} (commit ${commit}${dirty ? ", modified" : ""})`;
}

export type { GlobalOptions };
