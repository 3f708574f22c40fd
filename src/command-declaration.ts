/**
 * How a slice declares its commands. Each slice keeps a `commands.ts` next to its code that
 * exports its declarations; `src/cli.ts` only assembles them into commander, and help, shell
 * completion, `-o` and the docs test all read the same declaration.
 *
 * The shape, e.g. in src/backup/commands.ts:
 *
 *   export const backupCommands = group("backup", "Velero backups to R2", [
 *     command({
 *       name: "create",
 *       summary: "create a Velero backup",
 *       args: [{ name: "[name]", description: "backup name (default: generated)" }],
 *       options: [{ flags: "--wait", description: "wait until the backup finishes" }],
 *       examples: ["infra backup create nightly --wait"],
 *       cluster: true,            // reaches the Kubernetes API: gets --kubeconfig, --context, --request-timeout
 *       changes: true,            // changes something: refuses the example config unless --example
 *       run: async (ctx, input) =>
 *         (await import("./create.js")).backupCreateCommand(ctx, { wait: input.flag("wait") }),
 *     }),
 *   ]);
 *
 * A read command (`read: true`) gets `-o json|yaml`. Every command has examples (help shows them;
 * a unit test parses each).
 *
 * Rules: a commands.ts imports only types, this file and other commands.ts files, never the
 * slice's code (a unit test checks it), so `infra --help` loads nothing heavy; the body is
 * imported inside `run`. Parsing flags into the command's typed options happens in `run`.
 */
import type { CommandContext } from "./context.js";
import type { Outcome } from "./outcome.js";

/** One option, in commander's flag syntax (`-n, --namespace <ns...>`, `--no-schemas`). */
export interface OptionDeclaration {
  flags: string;
  description: string;
  default?: string | boolean | string[];
  /** Allowed values (checked by the parser, offered by shell completion). */
  choices?: readonly string[];
}

/** One positional argument: `<name>` required, `[name]` optional, `[names...]` variadic. */
export interface ArgumentDeclaration {
  name: string;
  description?: string;
}

/** The command tree as data (for shell completion): names, options, arguments. */
export interface CommandTree {
  name: string;
  summary: string;
  options: { flags: string[]; takesValue: boolean; choices?: readonly string[]; description: string }[];
  args: string[];
  commands: CommandTree[];
}

/** What `run` receives: the positional arguments and the parsed options (globals included). */
export class CommandInput {
  constructor(
    readonly args: readonly string[],
    readonly options: Readonly<Record<string, unknown>>,
    /** The whole command tree, built on demand (shell completion). */
    readonly tree: () => CommandTree = () => ({ name: "", summary: "", options: [], args: [], commands: [] }),
  ) {}

  /** A required positional argument (the parser has checked it is there). */
  arg(index: number): string {
    return this.args[index] ?? "";
  }

  optionalArg(index: number): string | undefined {
    return this.args[index];
  }

  /** An option's value by its camelCase name, when it was given as a string. */
  string(name: string): string | undefined {
    const value = this.options[name];
    return typeof value === "string" ? value : undefined;
  }

  /** A boolean flag: true only when given. */
  flag(name: string): boolean {
    return this.options[name] === true;
  }

  /** A variadic option (`<ns...>`). */
  list(name: string): string[] | undefined {
    const value = this.options[name];
    return Array.isArray(value) ? value.map(String) : undefined;
  }
}

export interface CommandDeclaration {
  kind: "command";
  name: string;
  summary: string;
  args?: readonly ArgumentDeclaration[];
  options?: readonly OptionDeclaration[];
  /** Command lines shown under "Examples:" in help; at least one. */
  examples: readonly string[];
  /** A read command: changes nothing and prints data (shaped by `-o json|yaml`). */
  read?: boolean;
  /** Reaches the Kubernetes API: gets --kubeconfig, --context and --request-timeout. */
  cluster?: boolean;
  /**
   * Changes hosts, the cluster, DNS or rendered files: refuses to act on the example config
   * (cluster.example.yaml) unless `--example` is given; a `--dry-run` or `--check` run is exempt.
   */
  changes?: boolean;
  run(ctx: CommandContext, input: CommandInput): Promise<Outcome>;
}

export interface GroupDeclaration {
  kind: "group";
  name: string;
  summary: string;
  commands: readonly CommandDeclaration[];
}

export type Declaration = CommandDeclaration | GroupDeclaration;

export function command(declaration: Omit<CommandDeclaration, "kind">): CommandDeclaration {
  return { kind: "command", ...declaration };
}

export function group(
  name: string,
  summary: string,
  commands: readonly CommandDeclaration[],
): GroupDeclaration {
  return { kind: "group", name, summary, commands };
}

/** Common options, declared once. */
export const DRY_RUN = (description = "show what would change; change nothing"): OptionDeclaration => ({
  flags: "--dry-run",
  description,
});
export const YES: OptionDeclaration = { flags: "-y, --yes", description: "do not ask for confirmation" };
