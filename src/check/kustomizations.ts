/**
 * What each kustomization of the tree refers to, read from its file (no kustomize run): the resources,
 * components and bases it includes, and every other file it names (patches, generators, replacements,
 * generator inputs). The builds, the orphan rules and the fallback after a failed build share it.
 */
import { dirname, join, normalize } from "node:path";
import { get, list, str } from "./resources.js";
import { isObject, type Json, kindOf, type SourceFile, type Sources, toPosix } from "./source.js";

export interface KustomizationRefs {
  /** The kustomization file and its directory, relative to the repository root. */
  file: string;
  dir: string;
  component: boolean;
  /** Local resources, bases and components: files or directories, repository-relative. */
  includes: string[];
  /** Other local files it reads (patches, generator and transformer configs, generator inputs...). */
  reads: string[];
  /** Remote entries (URLs, git references), as written. */
  remote: string[];
  /** Every entry as written, with the list it is in (for locating error messages). */
  entries: { key: string; entry: string }[];
}

export function isRemote(entry: string): boolean {
  return /^(https?:\/\/|git@|ssh:\/\/|git::|github\.com\/|gitlab\.com\/|bitbucket\.org\/)/.test(entry);
}

const INCLUDE_KEYS = ["resources", "bases", "components"];
const READ_LIST_KEYS = [
  "crds",
  "configurations",
  "generators",
  "transformers",
  "validators",
  "patchesStrategicMerge",
];

/** A file named by a generator's `files:` (`key=path` or `path`), `envs:` or `env:`. */
function generatorInputs(generator: Json): string[] {
  const out: string[] = [];
  for (const entry of list(get(generator, "files"))) {
    const text = str(entry);
    if (text) out.push(text.includes("=") ? text.slice(text.indexOf("=") + 1) : text);
  }
  for (const entry of list(get(generator, "envs"))) if (str(entry)) out.push(String(entry));
  const env = str(get(generator, "env"));
  if (env) out.push(env);
  return out;
}

export function kustomizationRefs(file: SourceFile): KustomizationRefs | undefined {
  const doc = file.docs[0]?.object;
  if (!isObject(doc)) return undefined;
  const dir = toPosix(dirname(file.file));
  const local = (entry: string) => toPosix(normalize(join(dir, entry))).replace(/\/$/, "");
  const entries: { key: string; entry: string }[] = [];
  const includes: string[] = [];
  const reads: string[] = [];
  const remote: string[] = [];
  const note = (key: string, entry: string, into: string[]) => {
    entries.push({ key, entry });
    if (isRemote(entry)) remote.push(entry);
    else into.push(local(entry));
  };
  for (const key of INCLUDE_KEYS)
    for (const e of list(doc[key])) if (typeof e === "string") note(key, e, includes);
  for (const key of READ_LIST_KEYS)
    for (const e of list(doc[key])) if (typeof e === "string") note(key, e, reads);
  for (const key of ["patches", "patchesJson6902", "replacements"]) {
    for (const item of list(doc[key])) {
      const path = str(get(item, "path"));
      if (path) note(key, path, reads);
    }
  }
  for (const key of ["configMapGenerator", "secretGenerator"]) {
    for (const generator of list(doc[key]))
      for (const input of generatorInputs(generator)) note(key, input, reads);
  }
  for (const chart of list(doc.helmCharts)) {
    for (const values of [
      str(get(chart, "valuesFile")),
      ...list(get(chart, "additionalValuesFiles")).map(str),
    ]) {
      if (values) note("helmCharts", values, reads);
    }
  }
  const openapi = str(get(doc, "openapi", "path"));
  if (openapi) note("openapi", openapi, reads);
  return { file: file.file, dir, component: kindOf(doc) === "Component", includes, reads, remote, entries };
}

/** Every kustomization of the sources, by directory. */
export function kustomizationsByDir(sources: Sources): Map<string, KustomizationRefs> {
  const out = new Map<string, KustomizationRefs>();
  for (const file of sources.files) {
    if (file.role !== "kustomization") continue;
    const refs = kustomizationRefs(file);
    if (refs) out.set(refs.dir, refs);
  }
  return out;
}

/**
 * The files a kustomization reaches (its own, its includes' and theirs, recursively): what its build
 * reads. Directories without a kustomization in the sources are left as directories.
 */
export function closure(dir: string, all: ReadonlyMap<string, KustomizationRefs>): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (d: string) => {
    if (seen.has(d)) return;
    seen.add(d);
    const refs = all.get(d);
    if (!refs) return;
    out.add(refs.file);
    for (const path of [...refs.includes, ...refs.reads]) {
      if (all.has(path)) visit(path);
      else out.add(path);
    }
  };
  visit(dir);
  return out;
}
