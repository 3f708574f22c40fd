import type { Reporter } from "./ui/reporter.js";

/** What every command receives besides its own options. Tests construct it directly. */
export interface CommandContext {
  /** Repository root (src/root.ts): where cluster.yaml, ansible/, kubernetes/ and tofu/ live. */
  cwd: string;
  /** Where `infra` was started; paths the user gives (--config, --kubeconfig) resolve here. Default: cwd. */
  workdir?: string;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  /** True when stdin is a terminal, so a command may ask a question. */
  interactive: boolean;
  /** Aborted by the first Ctrl-C or SIGTERM (its reason is the INTERRUPTED error). */
  signal?: AbortSignal;
}

/** Global options every command accepts. */
export interface GlobalOptions {
  /** Path to cluster.yaml (also $INFRA_CONFIG); default: the repository's cluster.yaml, else its example. */
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}
