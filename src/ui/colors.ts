/**
 * Colour only on a terminal: never in a pipe or a file, never with NO_COLOR set (no-color.org),
 * never with TERM=dumb. picocolors does the escape codes; the decision is ours, per stream,
 * because results go to stdout and progress and errors to stderr.
 */
import picocolors from "picocolors";

export type Colors = ReturnType<typeof picocolors.createColors>;

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
}

export function colors(enabled: boolean): Colors {
  return picocolors.createColors(enabled);
}
