/**
 * Progress for long work. Commands report phases and per-host lines through this interface;
 * they never write to the console themselves. Human progress goes to stderr so that stdout
 * stays clean for results (and for `--json`).
 */
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

export function streamReporter(write: (line: string) => void): Reporter {
  return {
    phase: (title) => write(`==> Running phase: ${title}`),
    step: (subject, message) => write(`${subject}: ${message}`),
    info: (message) => write(message),
    warn: (message) => write(`warning: ${message}`),
  };
}
