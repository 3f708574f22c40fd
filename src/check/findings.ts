/**
 * What `infra check` reports: one finding per problem, located at a file and line, with the rule that
 * found it, why the rule exists (upstream reason) and how to fix it.
 */
export type Severity = "error" | "warning";

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  fix: string;
  /** Path relative to the repository root. */
  file: string;
  line?: number;
  column?: number;
  /** Set when the object carries the suppression annotation for this rule (dropped from the report). */
  suppressed?: boolean;
}

/**
 * The annotation that silences rules for one object: a comma-separated list of rule ids, e.g.
 * `infra-k3s.io/check-ignore: "workload-probes,workload-root"`.
 */
export const IGNORE_ANNOTATION = "infra-k3s.io/check-ignore";

/** A stack rule: an id, the upstream reason it exists, and the check over the loaded tree. */
export interface RuleInfo {
  id: string;
  title: string;
  /** Upstream issue, PR or doc the rule comes from. */
  reason: string;
}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      a.rule.localeCompare(b.rule) ||
      a.message.localeCompare(b.message),
  );
}

/** `file:line:column` (what editors and CI annotations understand). */
export function where(finding: Pick<Finding, "file" | "line" | "column">): string {
  let text = finding.file;
  if (finding.line !== undefined) {
    text += `:${finding.line}`;
    if (finding.column !== undefined) text += `:${finding.column}`;
  }
  return text;
}
