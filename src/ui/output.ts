/**
 * How results and errors are printed: human text, JSON or YAML (`-o json|yaml`, `--json`).
 * Results go to stdout; progress, warnings and errors for people go to stderr.
 */
import { type ErrorDetail, formatLocation, type InfraError } from "../errors.js";
import type { Colors } from "./colors.js";

export type OutputFormat = "human" | "json" | "yaml";

/**
 * The format asked for on the command line, read before parsing so that even a usage error is
 * printed in it: `--json`, `-o json`, `-ojson`, `-o=yaml`, `--output yaml`, `--output=yaml`.
 */
export function outputFormat(argv: readonly string[]): OutputFormat {
  let format: OutputFormat = "human";
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") break;
    if (word === "--json") format = "json";
    let value: string | undefined;
    if (word === "-o" || word === "--output") value = argv[i + 1];
    else if (word.startsWith("--output=")) value = word.slice("--output=".length);
    else if (word.startsWith("-o") && word.length > 2) value = word.slice(2).replace(/^=/, "");
    if (value === "json" || value === "yaml") format = value;
  }
  return format;
}

export async function serialize(data: unknown, format: "json" | "yaml"): Promise<string> {
  if (format === "json") return `${JSON.stringify(data, null, 2)}\n`;
  const { stringify } = await import("yaml");
  return stringify(JSON.parse(JSON.stringify(data ?? null)), { aliasDuplicateObjects: false, lineWidth: 0 });
}

/** An error for people: `✗ where: message`, its details, `hint: ...`. */
export function humanError(error: InfraError, c: Colors): string {
  const lines: string[] = [];
  const where = formatLocation(error.location);
  lines.push(c.red(`✗ ${where ? `${where}: ` : ""}${error.message}`));
  for (const detail of error.details) lines.push(...humanDetail(detail, c));
  if (error.hint) lines.push(`${c.dim("hint:")} ${error.hint}`);
  return `${lines.join("\n")}\n`;
}

function humanDetail(detail: ErrorDetail, c: Colors): string[] {
  const where = formatLocation(detail.location);
  const warning = detail.severity === "warning";
  const mark = warning ? c.yellow("!") : c.red("✗");
  const lines = [`  ${mark} ${where ? `${where}: ` : ""}${detail.message} [${detail.code}]`];
  if (detail.hint) lines.push(`    hint: ${detail.hint}`);
  return lines;
}

/** An error as data (`-o json|yaml`): `{ ok: false, error: { code, message, hint, location, details } }`. */
export function errorData(error: InfraError): unknown {
  const { code, message, hint, location, details } = error;
  return { ok: false, error: { code, message, hint, location, details } };
}
