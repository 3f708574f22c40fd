/**
 * What a command hands back to bin.ts: the data (printed as JSON with --json) and how to
 * render it for people. `exitCode` lets a read command report "found problems" (e.g. check).
 */
export interface Outcome<T = unknown> {
  data: T;
  /** Method syntax on purpose: an Outcome<Specific> is usable where an Outcome<unknown> is expected. */
  human(data: T): string;
  exitCode?: number;
}

export function outcome<T>(data: T, human: (data: T) => string, exitCode?: number): Outcome<T> {
  return exitCode === undefined ? { data, human } : { data, human, exitCode };
}
