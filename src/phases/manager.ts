/**
 * Runs a list of phases in order: prepare → shouldRun → `==> Running phase: <title>` → run. When a
 * phase fails, the phases that ran (the failing one included) are cleaned up in reverse order and the
 * error is rethrown with the phase named; the error's code, kind and hint are kept.
 */
import { InfraError } from "../errors.js";
import type { Reporter } from "../ui/reporter.js";
import type { Phase, PhaseContext } from "./phase.js";

export type PhaseStatus = "done" | "skipped" | "failed";

export interface PhaseRecord {
  title: string;
  status: PhaseStatus;
  durationMs: number;
}

export interface DryRunAction {
  subject: string;
  message: string;
}

export interface ManagerResult {
  phases: PhaseRecord[];
  dryRun: boolean;
  /** What a dry run found would change (empty otherwise). */
  dryRunActions: DryRunAction[];
  durationMs: number;
}

export interface ManagerOptions {
  reporter: Reporter;
  dryRun?: boolean;
  signal?: AbortSignal;
  now?: () => number;
}

export class Manager {
  private readonly reporter: Reporter;
  private readonly dryRun: boolean;
  private readonly signal: AbortSignal | undefined;
  private readonly now: () => number;

  constructor(options: ManagerOptions) {
    this.reporter = options.reporter;
    this.dryRun = options.dryRun ?? false;
    this.signal = options.signal;
    this.now = options.now ?? Date.now;
  }

  async run(phases: readonly Phase[]): Promise<ManagerResult> {
    const started = this.now();
    const actions: DryRunAction[] = [];
    const ctx: PhaseContext = {
      reporter: this.reporter,
      dryRun: this.dryRun,
      wet: async (subject, message, action) => {
        if (this.dryRun) {
          actions.push({ subject, message });
          this.reporter.step(subject, `dry-run: would ${message}`);
          return;
        }
        await action();
      },
      noteDryRun: (subject, message) => {
        actions.push({ subject, message });
      },
    };
    if (this.signal) ctx.signal = this.signal;
    const records: PhaseRecord[] = [];
    const ran: Phase[] = [];
    for (const phase of phases) {
      const phaseStarted = this.now();
      try {
        if (this.signal?.aborted) {
          throw new InfraError("INTERRUPTED", `interrupted before phase "${phase.title}"`, {
            kind: "interrupted",
          });
        }
        await phase.prepare?.(ctx);
        if (phase.shouldRun && !phase.shouldRun(ctx)) {
          records.push({ title: phase.title, status: "skipped", durationMs: 0 });
          continue;
        }
        this.reporter.phase(phase.title);
        ran.push(phase);
        await phase.run(ctx);
        records.push({ title: phase.title, status: "done", durationMs: this.now() - phaseStarted });
      } catch (error) {
        records.push({ title: phase.title, status: "failed", durationMs: this.now() - phaseStarted });
        await this.cleanUp(ran, ctx);
        throw wrap(phase.title, error);
      }
    }
    return { phases: records, dryRun: this.dryRun, dryRunActions: actions, durationMs: this.now() - started };
  }

  private async cleanUp(ran: readonly Phase[], ctx: PhaseContext): Promise<void> {
    for (const phase of [...ran].reverse()) {
      if (!phase.cleanUp) continue;
      this.reporter.info(`* Running clean-up for phase: ${phase.title}`);
      try {
        await phase.cleanUp(ctx);
      } catch (error) {
        this.reporter.warn(
          `clean-up of "${phase.title}" failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }
}

/** Prefixes the failing phase to the message, keeping code, kind, hint, location and details. */
export function wrap(title: string, error: unknown): InfraError {
  const verb = title.charAt(0).toLowerCase() + title.slice(1);
  if (error instanceof InfraError) {
    const options: ConstructorParameters<typeof InfraError>[2] = {
      kind: error.kind,
      details: error.details,
      cause: error,
    };
    if (error.hint !== undefined) options.hint = error.hint;
    if (error.location !== undefined) options.location = error.location;
    return new InfraError(error.code, `${verb}: ${error.message}`, options);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new InfraError("PHASE_FAILED", `${verb}: ${message}`, { cause: error });
}

/** `==> Finished in 3m12s` style duration. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
}
