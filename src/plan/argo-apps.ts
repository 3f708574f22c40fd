/**
 * The Argo CD Applications (and ApplicationSets) found under kubernetes/, in sync-wave order.
 * Read from the manifests, never hard-coded: whatever the GitOps tree declares is what `up` syncs.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { loadAllYaml } from "../config/yaml-data.js";

export interface ArgoApplication {
  kind: "Application" | "ApplicationSet";
  name: string;
  namespace: string;
  wave: number;
  project?: string;
  /** Chart or path and the pinned revision of each source. */
  sources: { repoURL?: string; chart?: string; path?: string; targetRevision?: string }[];
  destinationNamespace?: string;
  /** metadata.labels (e.g. infra-k3s.io/ingress, which the ingress mode keeps or leaves out). */
  labels?: Record<string, string>;
  file: string;
}

export interface ArgoScan {
  applications: ArgoApplication[];
  /** Files that could not be parsed (reported, not fatal: plan has no side effects to protect). */
  unreadable: string[];
  scanned: number;
}

const SYNC_WAVE = "argocd.argoproj.io/sync-wave";
const APPLICATION_KIND = /^kind:\s*["']?Application(Set)?["']?\s*$/m;

export async function scanApplications(root: string, dir = "kubernetes"): Promise<ArgoScan> {
  const base = join(root, dir);
  const scan: ArgoScan = { applications: [], unreadable: [], scanned: 0 };
  if (!existsSync(base)) return scan;
  const paths = await yamlFiles(base);
  const texts = await Promise.all(paths.map((path) => readFile(path, "utf8")));
  paths.forEach((path, index) => {
    const file = relative(root, path).replaceAll("\\", "/");
    scan.scanned++;
    // Only the documents that can be Applications are parsed (the tree is mostly other kinds).
    for (const text of (texts[index] ?? "").split(/^---[ \t]*$/m)) {
      if (!APPLICATION_KIND.test(text)) continue;
      const documents = loadAllYaml(text);
      if (!documents.ok) {
        if (!scan.unreadable.includes(file)) scan.unreadable.push(file);
        continue;
      }
      for (const document of documents.value) {
        const app = toApplication(document, file);
        if (app) scan.applications.push(app);
      }
    }
  });
  scan.applications.sort(
    (a, b) => a.wave - b.wave || a.name.localeCompare(b.name) || a.file.localeCompare(b.file),
  );
  return scan;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(entry.name) && !/\.sops\.ya?ml$/.test(entry.name)) files.push(path);
  }
  return files;
}

type Json = Record<string, unknown>;

function toApplication(value: unknown, file: string): ArgoApplication | undefined {
  if (!value || typeof value !== "object") return undefined;
  const object = value as Json;
  const kind = object.kind;
  if (
    (kind !== "Application" && kind !== "ApplicationSet") ||
    !String(object.apiVersion ?? "").startsWith("argoproj.io/")
  ) {
    return undefined;
  }
  const metadata = (object.metadata ?? {}) as Json;
  const annotations = (metadata.annotations ?? {}) as Json;
  const wave = Number.parseInt(String(annotations[SYNC_WAVE] ?? "0"), 10);
  let spec = (object.spec ?? {}) as Json;
  if (kind === "ApplicationSet") spec = ((spec.template as Json | undefined)?.spec ?? {}) as Json;
  const rawSources = Array.isArray(spec.sources) ? spec.sources : spec.source ? [spec.source] : [];
  const sources = rawSources
    .filter((s): s is Json => Boolean(s) && typeof s === "object")
    .map((s) => {
      const source: ArgoApplication["sources"][number] = {};
      for (const key of ["repoURL", "chart", "path", "targetRevision"] as const) {
        if (typeof s[key] === "string") source[key] = s[key] as string;
      }
      return source;
    });
  const app: ArgoApplication = {
    kind,
    name: String(metadata.name ?? "(unnamed)"),
    namespace: String(metadata.namespace ?? "argocd"),
    wave: Number.isFinite(wave) ? wave : 0,
    sources,
    file,
  };
  if (typeof spec.project === "string") app.project = spec.project;
  const labels = metadata.labels;
  if (labels && typeof labels === "object" && !Array.isArray(labels)) {
    app.labels = Object.fromEntries(
      Object.entries(labels as Json).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }
  const destination = spec.destination as Json | undefined;
  if (destination && typeof destination.namespace === "string")
    app.destinationNamespace = destination.namespace;
  return app;
}
