/**
 * `infra check`: validates the GitOps tree offline — builds every kustomization (KSOPS secrets
 * decrypted when an age key is at hand), validates every resource against the schema of its exact
 * apiVersion and kind, and runs the stack rules. Exit 1 when any error is found, 70 when infra check
 * itself failed (a bug: please report it). `--path DIR` checks any folder of manifests/kustomizations.
 */
import { existsSync } from "node:fs";
import { availableParallelism, homedir } from "node:os";
import { delimiter, join } from "node:path";
import type { CommandContext } from "../context.js";
import { ExitCode, InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { toolPath } from "../toolchain/paths.js";
import { loadVersions } from "../toolchain/versions.js";
import { buildAll, missingValuesFile } from "./build.js";
import { deployments } from "./deploys.js";
import { type Finding, IGNORE_ANNOTATION, sortFindings, where } from "./findings.js";
import { closure, kustomizationsByDir } from "./kustomizations.js";
import { type Resource, resourcesFromSources, type Tree } from "./resources.js";
import { RULES } from "./rules/index.js";
import { ensureSchemas } from "./schema-cache.js";
import { kindOf, loadSources, type Sources } from "./source.js";
import { resolveTarget } from "./target.js";
import { startValidation } from "./validate.js";

export interface CheckOptions {
  /** Skip schema validation (rules and builds only). */
  schemas?: boolean;
  /** Check this folder (any tree of manifests and kustomizations) instead of kubernetes/. */
  path?: string;
  /** cluster.yaml to read (default: ./cluster.yaml, else the example). */
  config?: string;
}

/** The command line's options as CheckOptions (kept next to the command, not in cli.ts). */
export function checkOptions(o: Readonly<Record<string, unknown>>): CheckOptions {
  return {
    schemas: o.schemas !== false,
    ...(typeof o.path === "string" ? { path: o.path } : {}),
    ...(typeof o.config === "string" ? { config: o.config } : {}),
  };
}

export interface CheckReport {
  ok: boolean;
  /** The folder checked, relative to the repository root. */
  path: string;
  errors: number;
  warnings: number;
  findings: Finding[];
  notes: string[];
  kustomizations: number;
  resources: number;
  rules: { id: string; title: string; reason: string }[];
  durationMs: number;
  /** Milliseconds per phase (load, build, rules, validate). */
  timings: Record<string, number>;
}

const TOOLS = ["kustomize", "kubeconform", "sops"];

function onPath(bin: string, path: string): boolean {
  return path.split(delimiter).some((dir) => dir && existsSync(join(dir, bin)));
}

/** True when sops would find an age identity (so a decryption failure is the user's to fix). */
export function hasAgeKey(env: NodeJS.ProcessEnv): boolean {
  if (env.SOPS_AGE_KEY || env.SOPS_AGE_KEY_CMD) return true;
  if (env.SOPS_AGE_KEY_FILE) return existsSync(env.SOPS_AGE_KEY_FILE);
  const config = env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config");
  return existsSync(join(config, "sops", "age", "keys.txt"));
}

/**
 * Manifests no kustomization reads, outside folders that have one: applied as plain files (an Argo CD
 * directory source, a Flux path without kustomization.yaml, `kubectl apply -f`).
 */
function standaloneResources(sources: Sources, refs: ReturnType<typeof kustomizationsByDir>): Resource[] {
  const covered = new Set<string>();
  const coveredDirs: string[] = [];
  for (const ref of refs.values()) {
    for (const path of closure(ref.dir, refs)) {
      covered.add(path);
      if (!refs.has(path)) coveredDirs.push(`${path}/`);
    }
  }
  const kustomized = new Set(refs.keys());
  return resourcesFromSources(sources).filter((r) => {
    const file = r.origin?.file ?? "";
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
    return !covered.has(file) && !kustomized.has(dir) && !coveredDirs.some((d) => file.startsWith(d));
  });
}

export async function checkCommand(
  ctx: CommandContext,
  options: CheckOptions = {},
): Promise<Outcome<CheckReport>> {
  const started = performance.now();
  const [target, versions] = await Promise.all([
    resolveTarget({ cwd: ctx.cwd, path: options.path, config: options.config }),
    loadVersions(PACKAGE_ROOT),
  ]);
  const PATH = toolPath(ctx.env, versions);
  const missing = TOOLS.filter((tool) => !onPath(tool, PATH));
  if (missing.length > 0) {
    throw new InfraError("CHECK_TOOLS_MISSING", `infra check needs ${missing.join(", ")}`, {
      kind: "preflight",
      hint: `run \`./infra tools install ${missing.join(" ")}\``,
    });
  }
  const env: NodeJS.ProcessEnv = { ...ctx.env, PATH };
  const timings: Record<string, number> = {};
  let lap = performance.now();
  const mark = (phase: string) => {
    const now = performance.now();
    timings[phase] = Math.round(now - lap);
    lap = now;
  };
  // One kubeconform process for the whole check, started first: it compiles the schemas of the kinds
  // the sources name while the builds run, and validates each build's resources as the build finishes.
  // Schemas are generated (first run only) meanwhile.
  const schemas =
    options.schemas === false ? undefined : ensureSchemas(ctx.env, (t) => ctx.reporter.phase(t));
  const validation = schemas ? startValidation(schemas, env, target.kubernetesMinor) : undefined;
  try {
    return await checkWith(ctx, { target, env, validation, timings, mark, started });
  } finally {
    // Whatever happened, kubeconform's input ends, so that its process exits.
    validation?.finish().catch(() => undefined);
  }
}

interface CheckRun {
  target: Awaited<ReturnType<typeof resolveTarget>>;
  env: NodeJS.ProcessEnv;
  validation: ReturnType<typeof startValidation> | undefined;
  timings: Record<string, number>;
  mark: (phase: string) => void;
  started: number;
}

async function checkWith(
  ctx: CommandContext,
  { target, env, validation, timings, mark, started }: CheckRun,
): Promise<Outcome<CheckReport>> {
  const root = target.root;
  ctx.reporter.phase(`Load ${target.dir || "."}/`);
  const sources = await loadSources(root, target.dir);
  validation?.warm(
    resourcesFromSources(sources).flatMap((r) =>
      typeof r.object.apiVersion === "string" && kindOf(r.object)
        ? [{ apiVersion: r.object.apiVersion, kind: kindOf(r.object) ?? "" }]
        : [],
    ),
  );
  mark("load");
  const findings: Finding[] = [...sources.findings];
  const notes: string[] = [];
  const valuesComponent = "kubernetes/cluster-values/kustomization.yaml";
  if (
    target.house &&
    existsSync(join(root, valuesComponent)) &&
    !existsSync(join(root, "kubernetes/cluster-values/values.yaml"))
  ) {
    findings.push(missingValuesFile());
  }

  ctx.reporter.phase("Build every kustomization");
  const refs = kustomizationsByDir(sources);
  const deployed = new Set(deployments(resourcesFromSources(sources), target.repoURLs).map((d) => d.dir));
  const built = await buildAll({
    ageKey: hasAgeKey(ctx.env),
    root,
    dir: target.dir,
    sources,
    env,
    deployed,
    concurrency: availableParallelism() + 1,
    onBuild: (build) => {
      if (!build.failed) validation?.add(build.resources);
    },
  });
  const builds = built.builds;
  findings.push(...built.findings);
  for (const build of builds) {
    findings.push(...build.findings);
    if (build.remote.length > 0) {
      notes.push(
        `${build.dir}: ${build.remote.length} remote resource(s) are pinned but not fetched offline`,
      );
    }
  }
  findings.push(...sopsFindings(built.sopsFailures, ctx.env, notes));
  const standalone = standaloneResources(sources, refs);
  validation?.add(standalone);
  const finished = validation?.finish();
  mark("build");

  ctx.reporter.phase("Run the stack rules");
  const tree: Tree = {
    root,
    sources,
    resources: [...builds.flatMap((b) => b.resources), ...standalone],
    dir: target.dir,
    house: target.house,
    ...(target.cluster ? { cluster: target.cluster } : {}),
    repoURLs: target.repoURLs,
    kubernetesMinor: target.kubernetesMinor,
  };
  const internal: string[] = [];
  for (const rule of RULES) {
    try {
      findings.push(...rule.check(tree));
    } catch (error) {
      internal.push(
        `rule ${rule.id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }
  mark("rules");

  if (finished) {
    ctx.reporter.phase("Validate every resource against its schema");
    findings.push(...(await finished));
    mark("validate");
  } else notes.push("schema validation skipped (--no-schemas)");

  const suppressed = findings.filter((f) => f.suppressed).length;
  if (suppressed > 0)
    notes.push(`${suppressed} finding(s) suppressed by the ${IGNORE_ANNOTATION} annotation`);
  for (const problem of internal) notes.push(`internal error (please report it): ${problem}`);
  const sorted = sortFindings(dedupe(findings.filter((f) => !f.suppressed)));
  const errors = sorted.filter((f) => f.severity === "error").length;
  const data: CheckReport = {
    ok: errors === 0 && internal.length === 0,
    path: target.dir,
    errors,
    warnings: sorted.length - errors,
    findings: sorted,
    notes,
    kustomizations: builds.length,
    resources: tree.resources.length,
    rules: RULES.map(({ id, title, reason }) => ({ id, title, reason })),
    durationMs: Math.round(performance.now() - started),
    timings,
  };
  const exitCode = internal.length > 0 ? ExitCode.internal : errors > 0 ? ExitCode.runtime : ExitCode.ok;
  return outcome(data, renderCheck, exitCode);
}

function sopsFindings(failures: Map<string, string>, env: NodeJS.ProcessEnv, notes: string[]): Finding[] {
  if (failures.size === 0) return [];
  if (!hasAgeKey(env)) {
    notes.push(
      `${failures.size} SOPS file(s) not decrypted (no age key: set SOPS_AGE_KEY_FILE); their structure and encryption were checked`,
    );
    return [];
  }
  return [...failures].map(([file, error]) => ({
    rule: "sops-decrypt",
    severity: "error" as const,
    message: `cannot decrypt with your age key: ${error}`,
    fix: "re-encrypt the file for the cluster's recipients (docs/runbooks/rotate-secrets.md), or point SOPS_AGE_KEY_FILE at the right key",
    file,
    line: 1,
  }));
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}|${f.file}|${f.line ?? ""}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function renderCheck(data: CheckReport): string {
  const lines: string[] = [];
  for (const f of data.findings) {
    lines.push(`${where(f)}: ${f.severity} [${f.rule}] ${f.message}`);
    lines.push(`    fix: ${f.fix}`);
  }
  for (const note of data.notes) lines.push(`note: ${note}`);
  const summary = `${data.path || "."}: ${data.kustomizations} kustomizations built, ${data.resources} resources checked: ${data.errors} error(s), ${data.warnings} warning(s) (${(data.durationMs / 1000).toFixed(1)} s)`;
  lines.push(data.ok ? `✓ ${summary}` : `✗ ${summary}`);
  return lines.join("\n");
}
