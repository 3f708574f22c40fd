/**
 * Loading cluster.yaml: which file (./cluster.yaml, else the bundled example), YAML parsing with
 * positions, schema validation and the cross-field rules. Every problem names file:line:column,
 * the field path, a stable code and a hint. A config with errors never reaches a consumer.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Node } from "yaml";
import type { z } from "zod";
import type { CommandContext } from "../context.js";
import { type ErrorDetail, formatLocation, InfraError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { loadYaml } from "./fast-yaml.js";
import { checkRules, type Finding, type PathSegment } from "./rules.js";
import { type CheckParams, ClusterConfig, CONFIG_VERSION } from "./schema.js";
import { closest } from "./suggest.js";
import { yamlLib } from "./yaml-lib.js";

export const CONFIG_FILE = "cluster.yaml";
export const EXAMPLE_FILE = "cluster.example.yaml";

export interface ConfigSource {
  /** Absolute path of the file read. */
  path: string;
  /** How it was chosen: --config, ./cluster.yaml, or the bundled example. */
  origin: "option" | "cluster.yaml" | "example";
  /** The path as shown to the user (relative to the working directory when inside it). */
  display: string;
}

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

export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** Picks the config file: --config, else ./cluster.yaml, else the bundled cluster.example.yaml. */
export function resolveConfigSource(cwd: string, option: string | undefined): ConfigSource {
  if (option) {
    const path = resolve(cwd, option);
    if (!existsSync(path)) {
      throw new InfraError("CONFIG_NOT_FOUND", `config file ${option} does not exist`, {
        kind: "config",
        location: { file: option },
        hint: "check the path given to --config, or leave --config out to use ./cluster.yaml",
      });
    }
    return { path, origin: "option", display: displayPath(cwd, path) };
  }
  const local = join(cwd, CONFIG_FILE);
  if (existsSync(local)) return { path: local, origin: "cluster.yaml", display: CONFIG_FILE };
  const example = join(PACKAGE_ROOT, EXAMPLE_FILE);
  return { path: example, origin: "example", display: displayPath(cwd, example) };
}

/** Loads the chosen config, says which file it used, and reports warnings; throws on errors. */
export async function loadClusterConfig(
  ctx: CommandContext,
  option: string | undefined,
  { reportWarnings = true }: { reportWarnings?: boolean } = {},
): Promise<LoadedConfig> {
  const source = resolveConfigSource(ctx.cwd, option);
  if (source.origin === "example") {
    ctx.reporter.info(`using ${source.display} (no ${CONFIG_FILE} here; \`infra init\` creates one)`);
  } else {
    ctx.reporter.info(`using ${source.display}`);
  }
  const text = await readFile(source.path, "utf8");
  const { config, problems } = validateConfigText(text, source.display);
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

export function configError(file: string, problems: ConfigProblem[]): InfraError {
  const errors = problems.filter((p) => p.severity === "error");
  const first = errors[0];
  if (errors.length === 1 && first?.code === "CONFIG_YAML_SYNTAX") {
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

/** Parses and validates config text. Pure: used by the loader, `init` and the tests. */
export function validateConfigText(
  text: string,
  file: string,
): { config: ClusterConfig | undefined; problems: ConfigProblem[] } {
  // Fast path: a clean config needs no positions. Anything to report goes through the `yaml`
  // Document below, which knows where every node is.
  const fast = loadYaml(text);
  if (fast.ok && fast.value && typeof fast.value === "object" && !Array.isArray(fast.value)) {
    const parsed = ClusterConfig.safeParse(fast.value);
    if (parsed.success && checkRules(parsed.data).length === 0) return { config: parsed.data, problems: [] };
  }
  return validateWithPositions(text, file);
}

/** The full path: a `yaml` Document with positions for every problem (also the fast path's reference). */
export function validateWithPositions(
  text: string,
  file: string,
): { config: ClusterConfig | undefined; problems: ConfigProblem[] } {
  const { LineCounter, parseDocument } = yamlLib();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      config: undefined,
      problems: doc.errors.slice(0, 1).map((e) => ({
        code: "CONFIG_YAML_SYNTAX",
        severity: "error" as const,
        message: `YAML syntax error: ${e.message.split("\n")[0]}`,
        hint: "fix the YAML at that position (indentation, a missing ':' or quote, a duplicate key)",
        location: { file, ...at(e.pos[0]), path: "" },
      })),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined || typeof data !== "object" || Array.isArray(data)) {
    return {
      config: undefined,
      problems: [
        {
          code: "CONFIG_NOT_A_MAPPING",
          severity: "error",
          message: "the file must be a YAML mapping of the cluster's settings",
          hint: `start from ${EXAMPLE_FILE} or run \`infra init\``,
          location: { file, line: 1, column: 1, path: "" },
        },
      ],
    };
  }
  const locate = (path: PathSegment[], key = false) => ({
    file,
    ...at(offsetOf(doc.contents, path, key)),
    path: formatPath(path),
  });
  const sourceText = (path: PathSegment[]) => {
    const node = doc.getIn(path, true) as Node | undefined;
    const range = node && "range" in node ? node.range : undefined;
    return range ? text.slice(range[0], range[1]).trim() : undefined;
  };

  const parsed = ClusterConfig.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => fromIssue(issue, locate, sourceText));
    return { config: undefined, problems: sortProblems(problems) };
  }
  const problems = checkRules(parsed.data).map((finding) => fromFinding(finding, locate));
  return { config: parsed.data, problems: sortProblems(problems) };
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

function fromIssue(
  issue: Issue,
  locate: Locate,
  sourceText: (path: PathSegment[]) => string | undefined,
): ConfigProblem[] {
  const path = issue.path as PathSegment[];
  const problem = (
    code: string,
    message: string,
    hint: string | undefined,
    at = locate(path),
  ): ConfigProblem => ({
    code,
    severity: "error",
    message,
    ...(hint ? { hint } : {}),
    location: at,
  });
  switch (issue.code) {
    case "custom": {
      const params = issue.params as CheckParams | undefined;
      return [problem(params?.code ?? "CONFIG_INVALID", issue.message, params?.hint)];
    }
    case "unrecognized_keys": {
      const known = knownKeys(path);
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        const hint = suggestion
          ? `did you mean "${suggestion}"?`
          : `allowed keys here: ${known.filter((k) => k !== "$schema").join(", ")}`;
        return problem("CONFIG_UNKNOWN_KEY", `unknown key "${key}"`, hint, locate([...path, key], true));
      });
    }
    case "invalid_type": {
      const input = (issue as { input?: unknown }).input;
      if (input === undefined) {
        const field = String(path[path.length - 1] ?? "");
        return [
          problem(
            "CONFIG_REQUIRED",
            `required field "${field}" is missing`,
            `add \`${field}:\` here (see ${EXAMPLE_FILE} for an example value)`,
            { ...locate(path.slice(0, -1)), path: formatPath(path) },
          ),
        ];
      }
      const got = input === null ? "nothing (null)" : Array.isArray(input) ? "a list" : `a ${typeof input}`;
      const expected =
        issue.expected === "object"
          ? "a mapping"
          : issue.expected === "array"
            ? "a list"
            : `a ${issue.expected}`;
      const hint =
        issue.expected === "string" && (typeof input === "number" || typeof input === "boolean")
          ? `quote it so YAML reads text, not a ${typeof input}: "${sourceText(path) ?? String(input)}"`
          : `write ${expected} here`;
      return [problem("CONFIG_TYPE", `expected ${expected}, got ${got}`, hint)];
    }
    case "invalid_value": {
      if (path.length === 1 && path[0] === "version") {
        return [
          problem(
            "CONFIG_VERSION_UNSUPPORTED",
            `unsupported config version ${JSON.stringify((issue as { input?: unknown }).input)}`,
            `this infra reads version: ${CONFIG_VERSION}; set \`version: ${CONFIG_VERSION}\` (or update infra)`,
          ),
        ];
      }
      const values = issue.values.map(String);
      const input = (issue as { input?: unknown }).input;
      const suggestion = typeof input === "string" ? closest(input, values) : undefined;
      return [
        problem(
          "CONFIG_INVALID_OPTION",
          `${JSON.stringify(input)} is not one of ${values.join(", ")}`,
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
      const bound = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      const unit = issue.origin === "array" ? " items" : issue.origin === "string" ? " characters" : "";
      return [problem("CONFIG_OUT_OF_RANGE", `must be ${bound}${unit}`, "change the value to fit the range")];
    }
    default:
      return [problem("CONFIG_INVALID", issue.message, "see docs/configuration.md for this field")];
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

/**
 * The source offset of the node at `path` (or of its key when `key` is set). Stops at the
 * deepest existing ancestor, so a missing field points at the mapping that lacks it.
 */
function offsetOf(root: unknown, path: PathSegment[], key: boolean): number | undefined {
  const { isMap, isScalar, isSeq } = yamlLib();
  let node = root as Node | null | undefined;
  let offset = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return offset;
      const keyOffset = rangeStart(pair.key as Node);
      if (last && key) return keyOffset ?? offset;
      node = pair.value as Node | null;
      offset = rangeStart(node) ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (!item) return offset;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: Node | null | undefined): number | undefined {
  return node && "range" in node && Array.isArray(node.range) ? node.range[0] : undefined;
}
