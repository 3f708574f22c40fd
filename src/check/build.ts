/**
 * Builds every kustomization of the tree with the pinned kustomize (KSOPS generators through the
 * function in ksops-function.ts) and turns the output into resources with source positions.
 */
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { kustomizeBuild } from "../adapters/kustomize.js";
import type { Finding } from "./findings.js";
import { OriginIndex, type Resource } from "./resources.js";
import { isObject, type Json, kindOf, type SourceFile, type Sources } from "./source.js";

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

export async function buildAll(options: BuildOptions): Promise<BuildResult[]> {
  const { root, sources, env } = options;
  const index = new OriginIndex(sources);
  const kustomizations = sources.files.filter(
    (f) => f.role === "kustomization" && f.docs.length > 0 && kindOf(f.docs[0]?.object) !== "Component",
  );
  let copy: string | undefined;
  const results: BuildResult[] = [];
  try {
    const queue = [...kustomizations];
    const worker = async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const dir = dirname(file.file);
        const remote = entries(file).filter(isRemote);
        let buildRoot = root;
        if (remote.length > 0) {
          // Offline: build a copy of the tree whose kustomization leaves the remote entries out.
          copy ??= await copyTree(root);
          const doc = file.docs[0]?.object as Record<string, Json>;
          const stripped: Record<string, Json> = { ...doc };
          for (const key of LIST_KEYS) {
            const value = stripped[key];
            if (Array.isArray(value))
              stripped[key] = value.filter((e) => !(typeof e === "string" && isRemote(e)));
          }
          const target = join(copy, `${dir}.offline`);
          await cp(join(copy, dir), target, { recursive: true });
          await writeFile(
            join(target, file.file.split("/").pop() ?? "kustomization.yaml"),
            stringify(stripped),
          );
          buildRoot = copy;
          results.push(await buildOne(`${dir}.offline`, dir, file, buildRoot, env, index, remote));
        } else results.push(await buildOne(dir, dir, file, buildRoot, env, index, remote));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 3 }, worker));
  } finally {
    if (copy) await rm(copy, { recursive: true, force: true });
  }
  return results.sort((a, b) => a.dir.localeCompare(b.dir));
}

async function copyTree(root: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infra-check-"));
  await cp(join(root, "kubernetes"), join(dir, "kubernetes"), { recursive: true });
  return dir;
}

async function buildOne(
  buildDir: string,
  dir: string,
  file: SourceFile,
  buildRoot: string,
  env: NodeJS.ProcessEnv,
  index: OriginIndex,
  remote: string[],
): Promise<BuildResult> {
  const result = await kustomizeBuild(join(buildRoot, buildDir), env);
  if (!result.ok) {
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
