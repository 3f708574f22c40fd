/**
 * `--verbose`: one line on stderr for each external command and each Kubernetes API call, with
 * secrets redacted. Adapters call `trace()`; it prints only when bin.ts has switched it on.
 */

let sink: ((line: string) => void) | undefined;

export function setTrace(write: ((line: string) => void) | undefined): void {
  sink = write;
}

export function tracing(): boolean {
  return sink !== undefined;
}

export function trace(line: string): void {
  sink?.(redact(line));
}

/** Values after these words (as flags, `key=value` or env assignments) are never printed. */
const SECRET_WORDS = /(token|password|passwd|secret|auth[-_]?key|api[-_]?key|private[-_]?key|credentials?)/i;

/** Redacts secret-looking values in a command line or URL: `--token X`, `TOKEN=X`, `?token=X`, bearer tokens. */
export function redact(line: string): string {
  return line
    .replace(/(bearer\s+)\S+/gi, "$1***")
    .replace(/([?&][^=&\s]*?(?:token|secret|password)[^=&\s]*=)[^&\s]+/gi, "$1***")
    .replace(/(\b[\w.-]+=)([^\s&]+)/g, (match, key: string, _value: string) =>
      SECRET_WORDS.test(key) ? `${key}***` : match,
    )
    .replace(/(--?[\w-]+)(\s+)(\S+)/g, (match, flag: string, space: string, _value: string) =>
      SECRET_WORDS.test(flag) && !flag.includes("file") ? `${flag}${space}***` : match,
    );
}

/** A command line for display: words with spaces or quotes are quoted. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word)))
    .join(" ");
}
