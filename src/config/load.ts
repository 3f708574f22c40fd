/**
 * Loading cluster.yaml (which file: src/root.ts), reading it safely, one YAML parse with
 * positions (document.ts), schema validation and the cross-field rules. Every problem names
 * file:line:column, the field path, a stable code and a hint. A config with errors never reaches
 * a consumer.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import type { z } from "zod";
import type { CommandContext } from "../context.js";
import { type ErrorDetail, formatLocation, InfraError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { CONFIG_FILE, type ConfigSource, EXAMPLE_FILE, resolveConfigSource } from "../root.js";
import { type ConfigDocument, readConfigDocument } from "./document.js";
import { checkRules, type Finding, type PathSegment } from "./rules.js";
import { type CheckParams, ClusterConfig, CONFIG_VERSION } from "./schema.js";
import { readConfigFile } from "./source-file.js";
import { checkKeyFiles, type KeyFileContext } from "./ssh-keys.js";
import { closest } from "./suggest.js";
import { describe, expectedWords, quote } from "./words.js";

/** Which file is read (root discovery, --config, $INFRA_CONFIG, the example) is decided in src/root.ts. */
export { CONFIG_FILE, type ConfigSource, displayPath, EXAMPLE_FILE, resolveConfigSource } from "../root.js";

export interface LoadedConfig {
  config: ClusterConfig;
  source: ConfigSource;
  warnings: ErrorDetail[];
}

/** Positioned finding: a rule finding plus where it is in the file. */
export interface ConfigProblem extends ErrorDetail {
  severity: "error" | "warning";
  location: { file: string; line?: number; column?: number; path: string };
}

/** Loads the chosen config, says which file it used, and reports warnings; throws on errors. */
export async function loadClusterConfig(
  ctx: CommandContext,
  option: string | undefined,
  { reportWarnings = true }: { reportWarnings?: boolean } = {},
): Promise<LoadedConfig> {
  const source = resolveConfigSource(ctx.cwd, ctx.workdir ?? ctx.cwd, option ?? ctx.env.INFRA_CONFIG);
  if (source.origin === "example") {
    ctx.reporter.info(
      `using ${source.display} (no ${CONFIG_FILE} in ${ctx.cwd}; \`infra init\` creates one)`,
    );
  } else {
    ctx.reporter.info(`using ${source.display}`);
  }
  const text = await readConfigFile(source.path, source.display);
  // Key files are checked on this machine; the bundled example names a key only to show the
  // field (however it was chosen), so it is not held to one.
  const bundledExample = source.origin === "example" || source.path === join(PACKAGE_ROOT, EXAMPLE_FILE);
  const keyFiles = bundledExample ? undefined : { home: ctx.env.HOME || homedir(), uid: process.getuid?.() };
  const { config, problems } = validateConfigText(text, source.display, { keyFiles });
  const errors = problems.filter((p) => p.severity === "error");
  const warnings = problems.filter((p) => p.severity === "warning");
  if (!config || errors.length > 0) {
    throw configError(source.display, problems);
  }
  for (const warning of reportWarnings ? warnings : []) {
    ctx.reporter.warn(`${formatLocation(warning.location)}: ${warning.message} [${warning.code}]`);
  }
  return { config, source, warnings };
}

/** Problems of the file as a whole: reported alone, as the one line they are. */
const DOCUMENT_CODES = new Set([
  "CONFIG_YAML_SYNTAX",
  "CONFIG_DUPLICATE_KEY",
  "CONFIG_YAML_ALIAS",
  "CONFIG_YAML_MERGE",
  "CONFIG_EMPTY",
  "CONFIG_MULTIPLE_DOCUMENTS",
  "CONFIG_NOT_TEXT",
  "CONFIG_TOO_DEEP",
  "CONFIG_NOT_A_MAPPING",
]);

export function configError(file: string, problems: ConfigProblem[]): InfraError {
  const errors = problems.filter((p) => p.severity === "error");
  const first = errors[0];
  if (errors.length === 1 && first && DOCUMENT_CODES.has(first.code)) {
    return new InfraError(first.code, first.message, {
      kind: "config",
      location: first.location,
      ...(first.hint ? { hint: first.hint } : {}),
    });
  }
  return new InfraError(
    "CONFIG_INVALID",
    `invalid config: ${errors.length} ${errors.length === 1 ? "error" : "errors"}; nothing was changed`,
    {
      kind: "config",
      location: { file },
      hint: "fix the fields listed above (schema/cluster.schema.json gives editors completion and checks)",
      details: problems,
    },
  );
}

export interface ValidateOptions {
  /** Check the SSH key files the config names on this machine (the loader does; `init` and tests need not). */
  keyFiles?: KeyFileContext | undefined;
}

/** Parses and validates config text: used by the loader, `init` and the tests. */
export function validateConfigText(
  text: string,
  file: string,
  options: ValidateOptions = {},
): { config: ClusterConfig | undefined; problems: ConfigProblem[] } {
  const read = readConfigDocument(text);
  if (!read.ok) {
    const { problem, position } = read;
    return {
      config: undefined,
      problems: [
        {
          code: problem.code,
          severity: "error",
          message: problem.message,
          hint: problem.hint,
          location: { file, ...position(problem.offset), path: "" },
        },
      ],
    };
  }
  const { document } = read;
  const data = document.data;
  if (data === null || data === undefined || typeof data !== "object" || Array.isArray(data)) {
    return {
      config: undefined,
      problems: [
        {
          code: "CONFIG_NOT_A_MAPPING",
          severity: "error",
          message: `the file holds ${describe(data)}, not the mapping of settings (key: value lines) a cluster.yaml is`,
          hint: `start from ${EXAMPLE_FILE} or run \`infra init\``,
          location: { file, line: 1, column: 1, path: "" },
        },
      ],
    };
  }
  const locate: Locate = (path, key = false) => {
    const offset = document.offsetOf(path, key);
    return { file, ...(offset === undefined ? {} : document.position(offset)), path: formatPath(path) };
  };

  const parsed = ClusterConfig.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => fromIssue(issue, locate, document));
    return { config: undefined, problems: sortProblems(collapseShared(withoutTypoEchoes(problems))) };
  }
  const findings = [
    ...checkRules(parsed.data),
    ...(options.keyFiles ? checkKeyFiles(parsed.data, options.keyFiles) : []),
  ];
  const problems = findings.map((finding) => fromFinding(finding, locate));
  return { config: parsed.data, problems: sortProblems(collapseShared(problems)) };
}

/** Unknown keys with a suggestion, and the path of the field suggested. */
const suggested = new WeakMap<ConfigProblem, string>();

/** A misspelt required key is one mistake: "did you mean" says it, so drop its "missing". */
function withoutTypoEchoes(problems: ConfigProblem[]): ConfigProblem[] {
  const meant = new Set(problems.flatMap((problem) => suggested.get(problem) ?? []));
  return problems.filter(
    (problem) => problem.code !== "CONFIG_REQUIRED" || !meant.has(problem.location.path),
  );
}

/**
 * One problem inside content shared through an anchor shows up once per use, all at the anchor's
 * position: say it once, with the number of uses.
 */
function collapseShared(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Map<string, { problem: ConfigProblem; more: number }>();
  const kept: { problem: ConfigProblem; more: number }[] = [];
  for (const problem of problems) {
    const { line, column } = problem.location;
    const key = `${problem.code}\u0000${line}:${column}\u0000${problem.message}`;
    const earlier = line === undefined ? undefined : seen.get(key);
    if (earlier) earlier.more++;
    else {
      const entry = { problem, more: 0 };
      seen.set(key, entry);
      kept.push(entry);
    }
  }
  return kept.map(({ problem, more }) =>
    more === 0
      ? problem
      : {
          ...problem,
          message: `${problem.message} (written once, used in ${more + 1} places through an alias)`,
        },
  );
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort(
    (a, b) =>
      (a.location.line ?? 0) - (b.location.line ?? 0) ||
      (a.location.column ?? 0) - (b.location.column ?? 0) ||
      a.code.localeCompare(b.code),
  );
}

type Locate = (path: PathSegment[], key?: boolean) => ConfigProblem["location"];

function fromFinding(finding: Finding, locate: Locate): ConfigProblem {
  return {
    code: finding.code,
    severity: finding.severity,
    message: finding.message,
    ...(finding.hint ? { hint: finding.hint } : {}),
    location: locate(finding.path),
  };
}

type Issue = z.core.$ZodIssue;

function fromIssue(issue: Issue, locate: Locate, document: ConfigDocument): ConfigProblem[] {
  const path = issue.path as PathSegment[];
  const field = String(path[path.length - 1] ?? "this field");
  const input = (issue as { input?: unknown }).input;
  const problem = (code: string, message: string, hint: string, at = locate(path)): ConfigProblem => ({
    code,
    severity: "error",
    message,
    hint,
    location: at,
  });
  const missing = () =>
    problem(
      "CONFIG_REQUIRED",
      `required field "${field}" is missing`,
      `add \`${field}:\` here (see ${EXAMPLE_FILE} for an example value)`,
      { ...locate(path.slice(0, -1)), path: formatPath(path) },
    );
  switch (issue.code) {
    case "custom": {
      const params = issue.params as CheckParams | undefined;
      return [
        problem(
          params?.code ?? "CONFIG_INVALID",
          issue.message,
          params?.hint ?? "see docs/configuration.md for this field",
          locate(path, params?.at === "key"),
        ),
      ];
    }
    case "unrecognized_keys": {
      const known = knownKeys(path).filter((k) => k !== "$schema");
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        const hint =
          key === "<<"
            ? 'a quoted "<<" is an ordinary key; write the merge key unquoted: <<: *name'
            : suggestion
              ? `did you mean "${suggestion}"?`
              : `allowed keys here: ${known.join(", ")}`;
        const unknown = problem(
          "CONFIG_UNKNOWN_KEY",
          `unknown key ${quote(key)}`,
          hint,
          locate([...path, key], true),
        );
        if (suggestion) suggested.set(unknown, formatPath([...path, suggestion]));
        return unknown;
      });
    }
    case "invalid_type": {
      if (input === undefined) return [missing()];
      const expected = expectedWords(issue.expected);
      if (input === null) {
        return [
          problem(
            "CONFIG_TYPE",
            `"${field}" is empty; it needs ${expected}`,
            `write ${expected} after "${field}:" (see ${EXAMPLE_FILE})`,
          ),
        ];
      }
      const written = document.sourceText(path);
      const hint =
        issue.expected === "string" && (typeof input === "number" || typeof input === "boolean")
          ? `quote it so YAML reads text, not ${typeof input === "number" ? "a number" : "true/false"}: ${quote(written ?? String(input))}`
          : `write ${expected} here`;
      const got =
        typeof input === "number" && written ? `the number ${quote(written).slice(1, -1)}` : describe(input);
      return [problem("CONFIG_TYPE", `expected ${expected}, got ${got}`, hint)];
    }
    case "invalid_value": {
      if (input === undefined) return [missing()];
      if (path.length === 1 && path[0] === "version") {
        return [
          problem(
            "CONFIG_VERSION_UNSUPPORTED",
            `unsupported config version ${quote(input)}`,
            `this infra reads version: ${CONFIG_VERSION}; set \`version: ${CONFIG_VERSION}\` (or update infra)`,
          ),
        ];
      }
      const values = issue.values.map(String);
      const suggestion = typeof input === "string" ? closest(input, values) : undefined;
      return [
        problem(
          "CONFIG_INVALID_OPTION",
          `${quote(input)} is not one of ${values.join(", ")}`,
          suggestion ? `did you mean "${suggestion}"?` : `use one of: ${values.join(", ")}`,
        ),
      ];
    }
    case "too_small":
    case "too_big": {
      if (path.length === 1 && path[0] === "nodes" && issue.code === "too_small") {
        return [
          problem("NO_SERVER", "the cluster has no nodes", "add at least one node with `role: server`"),
        ];
      }
      const small = issue.code === "too_small";
      const bound = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === "string" || issue.origin === "array") {
        const unit = issue.origin === "string" ? "character" : "item";
        const message =
          small && bound === 1
            ? `"${field}" is empty`
            : `must have ${small ? "at least" : "at most"} ${bound} ${unit}${bound === 1 ? "" : "s"}`;
        return [
          problem(
            "CONFIG_OUT_OF_RANGE",
            message,
            small && bound === 1
              ? "give it a value or leave the field out"
              : "change the value to fit the range",
          ),
        ];
      }
      return [
        problem(
          "CONFIG_OUT_OF_RANGE",
          `${quote(input)} is ${small ? "below the minimum" : "above the maximum"} ${bound}`,
          `use a number of ${small ? "at least" : "at most"} ${bound}`,
        ),
      ];
    }
    default:
      return [
        problem(
          "CONFIG_INVALID",
          `${quote(input)} is not accepted here`,
          "see docs/configuration.md for this field",
        ),
      ];
  }
}

/** The keys the schema allows at an object path (for "did you mean"). */
function knownKeys(path: PathSegment[]): string[] {
  let schema: unknown = ClusterConfig;
  for (const segment of path) {
    schema = unwrap(schema);
    const def = (
      schema as { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } } }
    )._zod?.def;
    if (def?.type === "object" && typeof segment === "string") schema = def.shape?.[segment];
    else if (def?.type === "array") schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } } })._zod
    ?.def;
  return def?.type === "object" ? Object.keys(def.shape ?? {}) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema as
    | { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } }
    | undefined;
  for (let i = 0; i < 10 && current; i++) {
    const def = current._zod?.def;
    if (!def) break;
    if (
      ["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"].includes(
        def.type ?? "",
      )
    ) {
      current = def.innerType as typeof current;
    } else if (def.type === "pipe") {
      current = def.in as typeof current;
    } else break;
  }
  return current;
}

/** `nodes[1].ssh.port` */
export function formatPath(path: readonly PathSegment[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
