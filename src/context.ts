import type { Reporter } from "./ui/reporter.js";

/** What every command receives besides its own options. Tests construct it directly. */
export interface CommandContext {
  /** Repository root: where cluster.yaml, ansible/, kubernetes/ and tofu/ live. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  /** True when stdin is a terminal, so a command may ask a question. */
  interactive: boolean;
  signal?: AbortSignal;
}

/** Global options every command accepts. */
export interface GlobalOptions {
  /** Path to cluster.yaml; default: ./cluster.yaml, else the embedded example. */
  config?: string;
  json?: boolean;
  verbose?: boolean;
}
