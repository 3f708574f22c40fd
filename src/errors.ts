/** Exit codes (docs/errors.md). Only bin.ts turns them into a process exit. */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  config: 2,
  preflight: 3,
  /** A bug in infra itself (an unexpected exception): not 1, which a check uses for "found problems". */
  internal: 70,
  interrupted: 130,
} as const;

export type ErrorKind = "runtime" | "usage" | "config" | "preflight" | "interrupted";

/** Where an error was found: a file, optionally a line/column, optionally a field path. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** Dotted field path inside a document, e.g. `nodes[2].publicIPv4`. */
  path?: string;
}

export interface InfraErrorOptions {
  kind?: ErrorKind;
  hint?: string;
  location?: ErrorLocation;
  cause?: unknown;
  /** Further findings of the same failure (e.g. every config error, not just the first). */
  details?: readonly ErrorDetail[];
}

export interface ErrorDetail {
  code: string;
  message: string;
  hint?: string;
  location?: ErrorLocation;
  severity?: "error" | "warning";
}

/**
 * An expected failure: says what was wrong, where, and what to do.
 * `code` is a stable SCREAMING_SNAKE identifier listed in docs/errors.md.
 */
export class InfraError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly location: ErrorLocation | undefined;
  readonly details: readonly ErrorDetail[];

  constructor(code: string, message: string, options: InfraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "InfraError";
    this.code = code;
    this.kind = options.kind ?? "runtime";
    this.hint = options.hint;
    this.location = options.location;
    this.details = options.details ?? [];
  }

  get exitCode(): number {
    switch (this.kind) {
      case "usage":
        return ExitCode.usage;
      case "config":
        return ExitCode.config;
      case "preflight":
        return ExitCode.preflight;
      case "interrupted":
        return ExitCode.interrupted;
      default:
        return ExitCode.runtime;
    }
  }
}

/** Formats a location as `file:line:column (path)`, leaving out what is unknown. */
export function formatLocation(location: ErrorLocation | undefined): string {
  if (!location) return "";
  let text = location.file ?? "";
  if (location.file && location.line !== undefined) {
    text += `:${location.line}`;
    if (location.column !== undefined) text += `:${location.column}`;
  }
  if (location.path) text += text ? ` (${location.path})` : location.path;
  return text;
}
