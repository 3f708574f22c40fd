/**
 * The shared body of the commands that drive Ansible through phases (cluster init, node add, node
 * remove): open a session (log file per run), run the phases, and return the data plus a human summary.
 */
import { relative } from "node:path";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { type AnsibleSession, openAnsibleSession } from "./ansible-phases.js";
import { describeLayersNotRun, type LayerNotRun, type LayerSelection, layersNotRun } from "./layers.js";
import { formatDuration, Manager, type ManagerResult } from "./manager.js";
import type { Phase } from "./phase.js";

/** What each playbook of a command did: per host, the counts of its recap. */
export type PlaybookSummary = {
  playbook: string;
  check: boolean;
  recap: AnsibleSession["results"][number]["recap"];
};

export function playbookSummaries(session: AnsibleSession): PlaybookSummary[] {
  return session.results.map((r) => ({ playbook: r.playbook, check: r.check, recap: r.recap }));
}

export interface AnsibleCommandResult extends ManagerResult {
  command: string;
  logFile: string;
  playbooks: PlaybookSummary[];
  /** Layers left out by --until / --skip, and the command that runs them all. */
  notRun: LayerNotRun[];
  rerun?: string;
  tip?: string;
}

export interface AnsibleCommandOptions {
  command: string;
  /**
   * The command line that resumes after an interrupt (every phase is idempotent), and that converges
   * every layer after a run with --until / --skip.
   */
  rerun?: string;
  dryRun: boolean;
  tip?: string;
  /** --until / --skip, for the summary (the phases apply them). */
  layers?: LayerSelection;
  /** For tests: the session to use instead of a real one. */
  session?: AnsibleSession;
}

/**
 * An interrupt's one line on the state left behind: the hosts the interrupted phase touched may be
 * half-configured, and the command that converges them. Other errors pass through.
 */
export function rethrowInterrupted(error: unknown, rerun: string, logFile: string): void {
  if (!(error instanceof InfraError) || error.kind !== "interrupted") return;
  throw new InfraError(error.code, error.message, {
    kind: "interrupted",
    hint: `the hosts of the interrupted phase may be half-configured: re-run \`${rerun}\` (log: ${logFile})`,
    cause: error,
  });
}

export async function runAnsibleCommand(
  ctx: CommandContext,
  options: AnsibleCommandOptions,
  build: (session: AnsibleSession) => Phase[],
): Promise<Outcome<AnsibleCommandResult>> {
  const session =
    options.session ?? (await openAnsibleSession(ctx.cwd, ctx.env, options.command, ctx.reporter));
  const managerOptions: ConstructorParameters<typeof Manager>[0] = {
    reporter: ctx.reporter,
    dryRun: options.dryRun,
  };
  if (ctx.signal) managerOptions.signal = ctx.signal;
  const manager = new Manager(managerOptions);
  const logFile = relative(ctx.cwd, session.logFile) || session.logFile;
  const rerun = options.rerun ?? `infra ${options.command}`;
  let result: ManagerResult;
  try {
    result = await manager.run(build(session));
  } catch (error) {
    if (!options.dryRun) rethrowInterrupted(error, rerun, logFile);
    if (error instanceof InfraError && !(error.hint ?? "").includes("log:") && session.results.length > 0) {
      throw new InfraError(error.code, error.message, {
        kind: error.kind,
        details: error.details,
        hint: `${error.hint ? `${error.hint}; ` : ""}log: ${logFile}`,
        cause: error,
      });
    }
    throw error;
  }
  const data: AnsibleCommandResult = {
    ...result,
    command: options.command,
    logFile,
    playbooks: playbookSummaries(session),
    notRun: options.layers ? layersNotRun(options.layers) : [],
  };
  if (data.notRun.length > 0) data.rerun = rerun;
  if (options.tip) data.tip = options.tip;
  return outcome(data, renderAnsibleCommand);
}

export function renderAnsibleCommand(data: AnsibleCommandResult): string {
  const lines = [
    ...renderDryRun(data),
    ...describeLayersNotRun(data.notRun, data.rerun ?? ""),
    `==> Finished in ${formatDuration(data.durationMs)}`,
    `log: ${data.logFile}`,
  ];
  if (data.tip && !data.dryRun && data.notRun.length === 0) lines.push(`Tip: ${data.tip}`);
  return lines.join("\n");
}

/** What a dry run found would change, in k0sctl's words. Empty for a real run. */
export function renderDryRun(data: ManagerResult): string[] {
  if (!data.dryRun) return [];
  if (data.dryRunActions.length === 0)
    return ["dry-run: no cluster state altering actions would be performed"];
  return [
    "dry-run: these changes would be made:",
    ...data.dryRunActions.map((a) => `  ${a.subject}: ${a.message}`),
  ];
}
