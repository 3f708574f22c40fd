/**
 * A phase is one step of a long operation (k0sctl style): a short imperative title, an optional
 * `prepare` that computes its working set, an optional `shouldRun`, the `run` itself and an optional
 * `cleanUp` that the manager calls, in reverse order, when a later phase fails.
 */
import type { Reporter } from "../ui/reporter.js";

export interface PhaseContext {
  reporter: Reporter;
  /** True for --dry-run: phases report what they would do and change nothing. */
  dryRun: boolean;
  signal?: AbortSignal;
  /**
   * Runs `action` for real, or — in a dry run — only records that `subject` would `message`.
   * Every mutation of a phase goes through here.
   */
  wet(subject: string, message: string, action: () => Promise<void>): Promise<void>;
  /** Records a change a dry run found (e.g. a task check mode reported as "would change"). */
  noteDryRun(subject: string, message: string): void;
}

export interface Phase {
  readonly title: string;
  prepare?(ctx: PhaseContext): Promise<void>;
  shouldRun?(ctx: PhaseContext): boolean;
  run(ctx: PhaseContext): Promise<void>;
  cleanUp?(ctx: PhaseContext): Promise<void>;
}
