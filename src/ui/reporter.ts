/**
 * Progress for long work. Commands report phases and per-host lines through this interface;
 * they never write to the console themselves. Human progress goes to stderr so that stdout
 * stays clean for results (and for `-o json|yaml`).
 */
import type { Colors } from "./colors.js";

export interface Reporter {
  /** `==> Running phase: <title>` */
  phase(title: string): void;
  /** One line about one host or object: `<subject>: <message>` */
  step(subject: string, message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export const silentReporter: Reporter = {
  phase() {},
  step() {},
  info() {},
  warn() {},
};

export interface StreamReporterOptions {
  /** `--quiet`: only warnings (errors are printed by bin.ts). */
  quiet?: boolean;
  colors?: Colors;
}

export function streamReporter(write: (line: string) => void, options: StreamReporterOptions = {}): Reporter {
  const c = options.colors;
  const say = options.quiet ? () => undefined : write;
  return {
    phase: (title) => say(c ? c.bold(`==> Running phase: ${title}`) : `==> Running phase: ${title}`),
    step: (subject, message) => say(`${c ? c.cyan(subject) : subject}: ${message}`),
    info: (message) => say(message),
    warn: (message) => write(c ? c.yellow(`warning: ${message}`) : `warning: ${message}`),
  };
}
