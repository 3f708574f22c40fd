/**
 * Builds the kustomizations of the tree with the pinned kustomize, in parallel, from a private copy in
 * which remote entries are left out (offline), KSOPS generators are replaced by the (masked) Secrets they
 * generate, and kustomize is asked to annotate every resource with the file it came from — so findings
 * point at the source file and line even through namePrefix, components and replacements.
 */

import { existsSync, statSync } from "node:fs";
import {
  copyFile,
  cp,
  link,
  mkdir,
  mkdtemp,
  readdir,
  realpath,
  rm,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { exec, tail } from "../adapters/exec.js";
import { kustomizeBuild } from "../adapters/kustomize.js";
import { loadAllYaml, loadYaml } from "../config/yaml-data.js";
import type { Finding } from "./findings.js";
import { explainBuildFailure, fallbackResources } from "./kustomize-errors.js";

export { missingValuesFile } from "./kustomize-errors.js";

import {
  isRemote,
  type KustomizationRefs,
  kustomizationRefs,
  kustomizationsByDir,
} from "./kustomizations.js";
import { get, list, nameOf, OriginIndex, type Resource, str } from "./resources.js";
import {
  isObject,
  type Json,
  type JsonObject,
  kindOf,
  lineOf,
  readSourceFile,
  type SourceDoc,
  type SourceFile,
  type Sources,
  toPosix,
} from "./source.js";
import { masked } from "./validate.js";

export { isRemote };

export interface BuildResult {
  /** The kustomization directory, relative to the repository root. */
  dir: string;
  file: string;
  resources: Resource[];
  findings: Finding[];
  /** Remote resources (URLs) that cannot be fetched offline. */
  remote: string[];
  /** The build failed: `resources` are the source documents it reaches, not kustomize's output. */
  failed?: boolean;
}

const LIST_KEYS = [
  "resources",
  "bases",
  "components",
  "generators",
  "transformers",
  "validators",
  "crds",
  "configurations",
];

const ORIGIN = "config.kubernetes.io/origin";

export interface BuildOptions {
  root: string;
  /** The folder checked, relative to root. */
  dir?: string;
  sources: Sources;
  env: NodeJS.ProcessEnv;
  concurrency?: number;
  /** Folders Applications and Flux Kustomizations deploy: built even when another kustomization includes them. */
  deployed?: ReadonlySet<string>;
  /** Whether sops can find an age key (without one, encrypted files are not even tried). */
  ageKey?: boolean;
  /** Called with each build as it finishes (to validate while the others build). */
  onBuild?: (build: BuildResult) => void;
}

export interface BuildAllResult {
  builds: BuildResult[];
  /** SOPS files that could not be decrypted (repository-relative path -> sops's error). */
  sopsFailures: Map<string, string>;
  /** Problems of KSOPS generator files (bad kind, missing files). */
  findings: Finding[];
}

/**
 * The kustomizations to build: those no other kustomization includes (building an included one again
 * would only repeat its resources), plus the included ones something deploys on its own.
 */
export function buildRoots(
  refs: ReadonlyMap<string, KustomizationRefs>,
  deployed: ReadonlySet<string> = new Set(),
): KustomizationRefs[] {
  const included = new Set<string>();
  for (const r of refs.values()) if (!r.component) for (const path of r.includes) included.add(path);
  return [...refs.values()]
    .filter((r) => !r.component && (!included.has(r.dir) || deployed.has(r.dir)))
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/** A private copy of the tree, ready for kustomize, and what is needed to map its output back. */
export interface WorkTree {
  dir: string;
  roots: KustomizationRefs[];
  /** Generated KSOPS resource files (repository-relative) -> the SOPS file of each object, by name. */
  generated: Map<string, Map<string, string>>;
  /** Source files outside the checked folder that its kustomizations reach (for locations). */
  extra: Map<string, SourceFile>;
  remoteByDir: Map<string, string[]>;
}

async function copyOutsideReferences(
  root: string,
  checked: string,
  refs: Iterable<KustomizationRefs>,
  work: string,
  extra: Map<string, SourceFile>,
): Promise<void> {
  const inside = (path: string) => checked === "" || path === checked || path.startsWith(`${checked}/`);
  const queue = [...refs];
  const copied = new Set<string>();
  for (let ref = queue.shift(); ref; ref = queue.shift()) {
    for (const path of [...ref.includes, ...ref.reads]) {
      if (inside(path) || copied.has(path) || path.startsWith("..")) continue;
      copied.add(path);
      const from = join(root, path);
      if (!existsSync(from)) continue;
      await cp(from, join(work, path), { recursive: true });
      const kustomization = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .map((name) => join(path, name))
        .find((file) => statSync(join(root, path)).isDirectory() && existsSync(join(root, file)));
      for (const file of kustomization ? [kustomization] : statSync(from).isFile() ? [path] : []) {
        const read = await readSourceFile(root, join(root, file));
        extra.set(read.file.file, read.file);
      }
      if (kustomization) {
        const more = extra.get(toPosix(kustomization));
        const moreRefs = more ? kustomizationRefs(more) : undefined;
        if (moreRefs) queue.push(moreRefs);
      }
    }
  }
}

/**
 * A copy of a folder for kustomize: files are hard links (no data copied) where the file system allows,
 * else copies; the kustomizations are then rewritten as new files, leaving the originals untouched.
 */
async function mirror(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const entries = await readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      if (entry.name === ".git" || entry.name === "node_modules") return;
      const source = join(from, entry.name);
      const target = join(to, entry.name);
      if (entry.isDirectory()) return mirror(source, target);
      if (!entry.isFile()) return cp(source, target);
      try {
        await link(source, target);
      } catch {
        await copyFile(source, target);
      }
    }),
  );
}

/** Copies the checked folder and rewrites its kustomizations for an offline, located build. */
export async function prepareWorkTree(
  options: BuildOptions,
  decrypt: Decrypt,
  findings: Finding[],
): Promise<WorkTree> {
  const { root, sources } = options;
  const checked = options.dir ?? "kubernetes";
  const work = await realpath(await mkdtemp(join(tmpdir(), "infra-check-")));
  const refs = kustomizationsByDir(sources);
  await mirror(join(root, checked), join(work, checked));
  const extra = new Map<string, SourceFile>();
  await copyOutsideReferences(root, checked, refs.values(), work, extra);
  const generated = new Map<string, Map<string, string>>();
  const remoteByDir = new Map<string, string[]>();
  await Promise.all(
    sources.files
      .filter((f) => f.role === "kustomization" && f.docs.length > 0)
      .map(async (file) => {
        const dir = toPosix(dirname(file.file));
        const doc = { ...(file.docs[0]?.object as JsonObject) };
        remoteByDir.set(dir, refs.get(dir)?.remote ?? []);
        for (const key of LIST_KEYS) {
          const value = doc[key];
          if (Array.isArray(value)) doc[key] = value.filter((e) => !(typeof e === "string" && isRemote(e)));
        }
        await replaceKsops(doc, file, sources, work, decrypt, findings, generated);
        if (kindOf(doc) !== "Component") {
          const metadata = list(doc.buildMetadata).filter((m) => m !== "originAnnotations");
          doc.buildMetadata = [...metadata, "originAnnotations"];
        }
        // Replace the link with a new file: writing through a hard link would change the original.
        await unlink(join(work, file.file)).catch(() => undefined);
        await writeFile(join(work, file.file), JSON.stringify(doc));
      }),
  );
  return { dir: work, roots: buildRoots(refs, options.deployed), generated, extra, remoteByDir };
}

export async function buildAll(options: BuildOptions): Promise<BuildAllResult> {
  const { root, sources, env } = options;
  const sopsFailures = new Map<string, string>();
  const findings: Finding[] = [];
  const decrypt = decrypter(root, env, sopsFailures, options.ageKey !== false);
  const tree = await prepareWorkTree(options, decrypt, findings);
  try {
    const refs = kustomizationsByDir(sources);
    const origins = new OriginResolver(sources, tree);
    const results: BuildResult[] = [];
    const queue = [...tree.roots];
    const worker = async () => {
      for (let ref = queue.shift(); ref; ref = queue.shift()) {
        const result = await buildOne(ref, tree, env, origins, refs, sources);
        results.push(result);
        options.onBuild?.(result);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
    return { builds: results.sort((a, b) => a.dir.localeCompare(b.dir)), sopsFailures, findings };
  } finally {
    await rm(tree.dir, { recursive: true, force: true });
  }
}

export type Decrypt = (file: string) => Promise<Json | undefined>;

/**
 * `sops --decrypt` once per file (memoised); a failure is recorded and yields undefined. Without an age
 * key sops is not run at all (every file would fail the same way).
 */
export function decrypter(
  root: string,
  env: NodeJS.ProcessEnv,
  failures: Map<string, string>,
  ageKey = true,
): Decrypt {
  const memo = new Map<string, Promise<Json | undefined>>();
  return (file) => {
    if (!ageKey) {
      failures.set(file, "no age key");
      return Promise.resolve(undefined);
    }
    let pending = memo.get(file);
    if (!pending) {
      pending = exec("sops", ["--decrypt", "--output-type", "json", join(root, file)], {
        env,
        check: false,
      }).then((result) => {
        if (result.exitCode === 0) {
          try {
            return JSON.parse(result.stdout) as Json;
          } catch {
            // fall through: reported below
          }
        }
        failures.set(
          file,
          tail(result.stderr || result.stdout, 3)
            .replace(/\s+/g, " ")
            .trim(),
        );
        return undefined;
      });
      memo.set(file, pending);
    }
    return pending;
  };
}

/** The object of an encrypted file without its values (when it cannot be decrypted). */
function structural(source: SourceFile | undefined): Json | undefined {
  const object = source?.docs[0]?.object;
  if (!isObject(object)) return undefined;
  const copy: Record<string, Json> = { ...object };
  delete copy.sops;
  for (const key of ["data", "stringData"]) {
    const values = copy[key];
    if (isObject(values)) copy[key] = Object.fromEntries(Object.keys(values).map((k) => [k, ""]));
  }
  return copy;
}

/**
 * Replaces the kustomization's KSOPS generators by a resource file of the (masked) Secrets they
 * generate, and records which SOPS file each of them came from.
 */
async function replaceKsops(
  doc: Record<string, Json>,
  file: SourceFile,
  sources: Sources,
  work: string,
  decrypt: Decrypt,
  findings: Finding[],
  generated: Map<string, Map<string, string>>,
): Promise<void> {
  const generators = doc.generators;
  if (!Array.isArray(generators)) return;
  const dir = toPosix(dirname(file.file));
  const kept: Json[] = [];
  const generatedFiles: string[] = [];
  for (const entry of generators) {
    const generator =
      typeof entry === "string" ? sources.files.find((f) => f.file === toPosix(join(dir, entry))) : undefined;
    if (generator?.role !== "generator") {
      kept.push(entry);
      continue;
    }
    const objects: Json[] = [];
    const from = new Map<string, string>();
    for (const ksops of generator.docs) {
      const problem = ksopsProblem(ksops.object);
      if (problem) {
        findings.push({
          rule: "ksops-generator",
          severity: "error",
          message: `KSOPS generator ${nameOf(ksops.object)}: ${problem}`,
          fix: "use `apiVersion: viaduct.ai/v1`, `kind: ksops`, the exec function annotation with `path: ksops`, and `files:`",
          file: generator.file,
          line: ksops.line,
        });
        continue;
      }
      for (const [i, listed] of list(get(ksops.object, "files")).entries()) {
        const path = toPosix(join(dir, String(listed)));
        const source = sources.files.find((f) => f.file === path);
        if (!source) {
          findings.push({
            rule: "ksops-generator",
            severity: "error",
            message: `KSOPS generator ${nameOf(ksops.object)} lists ${String(listed)}, which does not exist`,
            fix: "create the encrypted file or remove it from `files:`",
            file: generator.file,
            line: lineOf(ksops, ["files", i]),
          });
          continue;
        }
        const object = (await decrypt(path)) ?? structural(source);
        if (!isObject(object)) continue;
        objects.push(masked(object));
        from.set(`${kindOf(object) ?? ""}/${nameOf(object)}`, path);
      }
    }
    const name = `.infra-check-${(typeof entry === "string" ? entry : "gen").replace(/[^A-Za-z0-9]+/g, "-")}.yaml`;
    await writeFile(join(work, dir, name), objects.map((o) => `---\n${JSON.stringify(o)}\n`).join(""));
    generated.set(toPosix(join(dir, name)), from);
    generatedFiles.push(name);
  }
  if (generatedFiles.length === 0) return;
  doc.generators = kept;
  doc.resources = [...list(doc.resources), ...generatedFiles];
}

function ksopsProblem(object: Json): string | undefined {
  if (get(object, "apiVersion") !== "viaduct.ai/v1") return "apiVersion is not viaduct.ai/v1";
  const fn = str(get(object, "metadata", "annotations", "config.kubernetes.io/function")) ?? "";
  if (!/exec:/.test(fn) || !/path:\s*ksops\b/.test(fn)) {
    return "no `config.kubernetes.io/function` annotation running `exec: path: ksops`";
  }
  if (get(object, "secretFrom") !== undefined)
    return "secretFrom is not supported by infra check; list files instead";
  const files = get(object, "files");
  if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === "string")) {
    return "`files` is not a list of file names";
  }
  return undefined;
}

/** The document an object of a file was written as: same kind, then same name (or contained in it). */
function pickDoc(file: SourceFile, object: JsonObject): SourceDoc | undefined {
  const kind = kindOf(object);
  const sameKind = file.docs.filter((d) => kindOf(d.object) === kind);
  const pool = sameKind.length > 0 ? sameKind : file.docs;
  if (pool.length <= 1) return pool[0];
  const name = nameOf(object);
  return (
    pool.find((d) => nameOf(d.object) === name) ??
    pool
      .filter((d) => nameOf(d.object) !== "" && name.includes(nameOf(d.object)))
      .sort((a, b) => nameOf(b.object).length - nameOf(a.object).length)[0] ??
    pool[0]
  );
}

/** Maps kustomize's origin annotations back to source documents. */
class OriginResolver {
  private readonly files = new Map<string, SourceFile>();
  private readonly index: OriginIndex;

  constructor(
    sources: Sources,
    private readonly tree: WorkTree,
  ) {
    for (const file of sources.files) this.files.set(file.file, file);
    for (const [path, file] of tree.extra) this.files.set(path, file);
    this.index = new OriginIndex(sources);
  }

  /** Reads and strips the origin annotation of a built object; returns where it was written. */
  take(object: JsonObject, buildDir: string): SourceDoc | undefined {
    const annotations = get(object, "metadata", "annotations");
    const text = isObject(annotations) ? str(annotations[ORIGIN]) : undefined;
    if (isObject(annotations) && text !== undefined) {
      delete annotations[ORIGIN];
      if (Object.keys(annotations).length === 0 && isObject(object.metadata))
        delete object.metadata.annotations;
    }
    const read = text ? loadYaml(text) : undefined;
    const origin = (read?.ok ? read.value : null) as Json;
    const path = str(get(origin, "path"));
    if (path) {
      const file = toPosix(normalize(join(buildDir, path)));
      const sops = this.tree.generated.get(file)?.get(`${kindOf(object) ?? ""}/${nameOf(object)}`);
      const source = this.files.get(sops ?? file);
      const doc = source ? pickDoc(source, object) : undefined;
      if (doc) return doc;
    }
    const configuredIn = str(get(origin, "configuredIn"));
    if (configuredIn) {
      const file = this.files.get(toPosix(normalize(join(buildDir, configuredIn))));
      const doc = file?.docs[0];
      if (doc) return generatorDoc(doc, object);
    }
    return this.index.find(object, buildDir);
  }
}

/** The kustomization document, positioned at the generator entry that made the object. */
function generatorDoc(doc: SourceDoc, object: JsonObject): SourceDoc {
  const key = kindOf(object) === "Secret" ? "secretGenerator" : "configMapGenerator";
  const index = list(get(doc.object, key)).findIndex((g) => {
    const name = str(get(g, "name"));
    return name !== undefined && nameOf(object).includes(name);
  });
  return index < 0 ? doc : { ...doc, line: lineOf(doc, [key, index]) };
}

async function buildOne(
  ref: KustomizationRefs,
  tree: WorkTree,
  env: NodeJS.ProcessEnv,
  origins: OriginResolver,
  refs: ReadonlyMap<string, KustomizationRefs>,
  sources: Sources,
): Promise<BuildResult> {
  const { dir, file } = ref;
  const remote = tree.remoteByDir.get(dir) ?? [];
  const result = await kustomizeBuild(join(tree.dir, dir), env);
  if (!result.ok) {
    const stderr = result.stderr.split(`${tree.dir}/`).join("").split(tree.dir).join(".");
    const findings = explainBuildFailure({ ref, stderr, sources, refs });
    // Without cluster values the documents hold placeholders: rules would only judge those.
    const valuesMissing = findings.some((f) => f.rule === "cluster-values-missing");
    return {
      dir,
      file,
      resources: valuesMissing ? [] : fallbackResources(dir, refs, sources),
      remote,
      findings,
      failed: true,
    };
  }
  const resources: Resource[] = [];
  const output = loadAllYaml(result.stdout);
  for (const object of (output.ok ? output.value : []) as Json[]) {
    if (!isObject(object)) continue;
    resources.push({ object, origin: origins.take(object, dir), build: dir });
  }
  return { dir, file, resources, findings: [], remote };
}
