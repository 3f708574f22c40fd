/**
 * Builds every kustomization of the tree with the pinned kustomize and turns the output into resources
 * with source positions.
 */
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { exec, tail } from "../adapters/exec.js";
import { kustomizeBuild } from "../adapters/kustomize.js";
import type { Finding } from "./findings.js";
import { get, list, nameOf, OriginIndex, type Resource, str } from "./resources.js";
import { isObject, type Json, kindOf, lineOf, type SourceFile, type Sources, toPosix } from "./source.js";
import { masked } from "./validate.js";

export interface BuildResult {
  /** The kustomization directory, relative to the repository root. */
  dir: string;
  file: string;
  resources: Resource[];
  findings: Finding[];
  /** Remote resources (URLs) that cannot be fetched offline. */
  remote: string[];
}

const LIST_KEYS = [
  "resources",
  "components",
  "generators",
  "transformers",
  "validators",
  "crds",
  "configurations",
];

export function isRemote(entry: string): boolean {
  return /^(https?:\/\/|git@|ssh:\/\/|github\.com\/|gitlab\.com\/)/.test(entry);
}

function entries(file: SourceFile): string[] {
  const doc = file.docs[0]?.object;
  if (!isObject(doc)) return [];
  const out: string[] = [];
  for (const key of LIST_KEYS) {
    const value = doc[key];
    if (Array.isArray(value)) for (const item of value) if (typeof item === "string") out.push(item);
  }
  return out;
}

/** The line of a kustomization that names the entry the error is about (1 when none does). */
function lineNaming(file: SourceFile, stderr: string): number {
  const lines = file.text.split("\n");
  const named = entries(file)
    .filter(
      (entry) => stderr.includes(`'${entry}'`) || stderr.includes(`"${entry}"`) || stderr.includes(entry),
    )
    .sort((a, b) => b.length - a.length)[0];
  if (named) {
    const index = lines.findIndex((line) => /^\s*-\s*/.test(line) && line.includes(named));
    if (index >= 0) return index + 1;
  }
  return 1;
}

/** kustomize's error, without its stack of wrappers: the innermost useful sentence. */
export function kustomizeMessage(stderr: string): string {
  const text = stderr
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("\t") && !/^\s+at /.test(line))
    .join(" ")
    .replace(/^Error:\s*/, "")
    .trim();
  const duplicate = /may not add resource with an already registered id: ([^\s']+)/.exec(text);
  if (duplicate) return `duplicated resource ${duplicate[1]}: two files declare the same object`;
  const missing =
    /evalsymlink failure on '([^']+)'/.exec(text) ?? /no such file or directory[^']*'([^']+)'/.exec(text);
  if (missing) return `a listed file or directory does not exist: ${missing[1]}`;
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

function fixFor(message: string): string {
  if (message.startsWith("duplicated resource"))
    return "keep one declaration of the object (remove it from one of the files)";
  if (message.startsWith("a listed file"))
    return "create the file or remove the entry from the kustomization";
  return "run `kustomize build --enable-alpha-plugins --enable-exec <dir>` to see the full error";
}

export interface BuildOptions {
  root: string;
  sources: Sources;
  env: NodeJS.ProcessEnv;
  concurrency?: number;
}

export interface BuildAllResult {
  builds: BuildResult[];
  /** SOPS files that could not be decrypted (repository-relative path -> sops's error). */
  sopsFailures: Map<string, string>;
  /** Problems of KSOPS generator files (bad kind, missing files). */
  findings: Finding[];
}

/**
 * Builds every kustomization from a private copy of kubernetes/, in which remote entries are left out
 * (offline) and each KSOPS generator is replaced by the Secrets it would generate: decrypted with the
 * pinned `sops` and the caller's age key, then masked (strings replaced, types kept) so no plaintext
 * is ever written. kustomize then applies the same transformers to them as Argo CD's would.
 */
export async function buildAll(options: BuildOptions): Promise<BuildAllResult> {
  const { root, sources, env } = options;
  const index = new OriginIndex(sources);
  const kustomizations = sources.files.filter(
    (f) => f.role === "kustomization" && f.docs.length > 0 && kindOf(f.docs[0]?.object) !== "Component",
  );
  const work = await mkdtemp(join(tmpdir(), "infra-check-"));
  const sopsFailures = new Map<string, string>();
  const findings: Finding[] = [];
  try {
    await cp(join(root, "kubernetes"), join(work, "kubernetes"), { recursive: true });
    const decrypt = decrypter(root, env, sopsFailures);
    const remoteByDir = new Map<string, string[]>();
    for (const file of sources.files.filter((f) => f.role === "kustomization" && f.docs.length > 0)) {
      const dir = dirname(file.file);
      const doc = { ...(file.docs[0]?.object as Record<string, Json>) };
      const remote = entries(file).filter(isRemote);
      remoteByDir.set(dir, remote);
      for (const key of LIST_KEYS) {
        const value = doc[key];
        if (Array.isArray(value)) doc[key] = value.filter((e) => !(typeof e === "string" && isRemote(e)));
      }
      const generated = await replaceKsops(doc, file, sources, work, decrypt, findings);
      if (remote.length === 0 && !generated) continue;
      await writeFile(join(work, file.file), stringify(doc));
    }
    const results: BuildResult[] = [];
    const queue = [...kustomizations];
    const worker = async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const dir = dirname(file.file);
        results.push(await buildOne(dir, file, work, env, index, remoteByDir.get(dir) ?? []));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 3 }, worker));
    return { builds: results.sort((a, b) => a.dir.localeCompare(b.dir)), sopsFailures, findings };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

type Decrypt = (file: string) => Promise<Json | undefined>;

/** `sops --decrypt` once per file (memoised); a failure is recorded and yields undefined. */
function decrypter(root: string, env: NodeJS.ProcessEnv, failures: Map<string, string>): Decrypt {
  const memo = new Map<string, Promise<Json | undefined>>();
  return (file) => {
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
 * generate. Returns whether anything was replaced.
 */
async function replaceKsops(
  doc: Record<string, Json>,
  file: SourceFile,
  sources: Sources,
  work: string,
  decrypt: Decrypt,
  findings: Finding[],
): Promise<boolean> {
  const generators = doc.generators;
  if (!Array.isArray(generators)) return false;
  const dir = dirname(file.file);
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
        if (isObject(object)) objects.push(masked(object));
      }
    }
    const name = `.infra-check-${(typeof entry === "string" ? entry : "gen").replace(/[^A-Za-z0-9]+/g, "-")}.yaml`;
    await writeFile(join(work, dir, name), objects.map((o) => `---\n${stringify(o)}`).join(""));
    generatedFiles.push(name);
  }
  if (generatedFiles.length === 0) return false;
  doc.generators = kept;
  doc.resources = [...list(doc.resources), ...generatedFiles];
  return true;
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

/** The finding for a tree without its rendered cluster values (the same wherever it is noticed). */
export function missingValuesFile(): Finding {
  return {
    rule: "cluster-values-missing",
    severity: "error",
    message: "kubernetes/cluster-values/values.yaml is missing: the tree has no cluster-specific values",
    fix: "run `infra configure` (it renders the file from cluster.yaml) and commit it",
    file: "kubernetes/cluster-values/kustomization.yaml",
    line: 1,
  };
}

async function buildOne(
  dir: string,
  file: SourceFile,
  buildRoot: string,
  env: NodeJS.ProcessEnv,
  index: OriginIndex,
  remote: string[],
): Promise<BuildResult> {
  const result = await kustomizeBuild(join(buildRoot, dir), env);
  if (!result.ok) {
    const missingValue =
      /fieldPath `data\.([^`]+)` is missing for replacement source ConfigMap[^ ]*\/cluster-values/.exec(
        result.stderr,
      );
    if (/cluster-values\/values\.yaml[^\n]*no such file/.test(result.stderr)) {
      return { dir, file: file.file, resources: [], remote, findings: [missingValuesFile()] };
    }
    if (missingValue) {
      // One finding at the values file rather than one per kustomization that includes the component.
      return {
        dir,
        file: file.file,
        resources: [],
        remote,
        findings: [
          {
            rule: "cluster-values-missing",
            severity: "error",
            message: `kubernetes/cluster-values/values.yaml has no \`${missingValue[1]}\`, which the GitOps tree needs`,
            fix: "run `infra configure` (it renders the file from cluster.yaml) and commit the result",
            file: "kubernetes/cluster-values/values.yaml",
            line: 1,
          },
        ],
      };
    }
    const message = kustomizeMessage(result.stderr.split(join(buildRoot, "")).join(""));
    return {
      dir,
      file: file.file,
      resources: [],
      remote,
      findings: [
        {
          rule: "kustomize-build",
          severity: "error",
          message: `kustomize build ${dir} failed: ${message}`,
          fix: fixFor(message),
          file: file.file,
          line: lineNaming(file, result.stderr),
        },
      ],
    };
  }
  const resources: Resource[] = [];
  for (const document of parseAllDocuments(result.stdout)) {
    const object = document.toJS() as Json;
    if (!isObject(object)) continue;
    resources.push({ object, origin: index.find(object, dir), build: dir });
  }
  return { dir, file: file.file, resources, findings: [], remote };
}
