/**
 * Resources as `infra check` sees them: a Kubernetes object (as built by kustomize, or as written in a
 * source file) plus the source document it came from, so findings can point at a file and line.
 */
import { type Finding, IGNORE_ANNOTATION } from "./findings.js";
import {
  isObject,
  type Json,
  type JsonObject,
  kindOf,
  lineOf,
  type PathPart,
  type SourceDoc,
  type Sources,
} from "./source.js";
import type { ClusterFacts } from "./target.js";

export interface Resource {
  object: JsonObject;
  origin: SourceDoc | undefined;
  /** The kustomization directory that produced it (undefined: read straight from a source file). */
  build?: string;
}

export interface Tree {
  /** The repository root (absolute); every path in a finding is relative to it. */
  root: string;
  sources: Sources;
  resources: Resource[];
  /** The folder checked, relative to root (default: kubernetes). */
  dir?: string;
  /** This project's own tree: the house rules (Renovate annotations, cluster values) apply. */
  house?: boolean;
  /** cluster.yaml's facts, for this project's own tree. */
  cluster?: ClusterFacts;
  /** Clone URLs of this repository: Applications following one of them deploy folders of this tree. */
  repoURLs?: string[];
  /** Kubernetes minor of the pinned K3s release. */
  kubernetesMinor?: number;
}

export function str(value: Json | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function get(value: Json | undefined, ...path: PathPart[]): Json | undefined {
  let current: Json | undefined = value;
  for (const part of path) {
    if (typeof part === "number") current = Array.isArray(current) ? current[part] : undefined;
    else current = isObject(current) ? current[part] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

export function list(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

export function nameOf(object: Json | undefined): string {
  return str(get(object, "metadata", "name")) ?? "";
}

export function namespaceOf(object: Json | undefined): string | undefined {
  return str(get(object, "metadata", "namespace"));
}

export function groupOf(object: Json | undefined): string {
  const apiVersion = str(get(object, "apiVersion")) ?? "";
  return apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";
}

export function is(resource: Resource, kind: string, group?: string): boolean {
  return kindOf(resource.object) === kind && (group === undefined || groupOf(resource.object) === group);
}

/** A finding at a field of a resource (its source line when known). */
export function at(
  resource: Resource,
  path: readonly PathPart[],
  finding: Omit<Finding, "file" | "line" | "severity"> & { severity?: Finding["severity"] },
): Finding {
  const origin = resource.origin;
  const file = origin?.file ?? resource.build ?? "kubernetes";
  const line = origin ? lineOf(origin, path) : undefined;
  const ignored = str(get(resource.object, "metadata", "annotations", IGNORE_ANNOTATION)) ?? "";
  const suppressed = ignored.split(/[\s,]+/).includes(finding.rule);
  return {
    severity: "error",
    ...finding,
    file,
    ...(line === undefined ? {} : { line }),
    ...(suppressed ? { suppressed } : {}),
  };
}

/** Where each object was written: by kind and name, preferring documents under the build directory. */
export class OriginIndex {
  private readonly byId = new Map<string, SourceDoc[]>();

  constructor(sources: Sources) {
    for (const file of sources.files) {
      if (file.role === "kustomization" || file.role === "generator") continue;
      for (const doc of file.docs) {
        const kind = kindOf(doc.object);
        if (!kind) continue;
        const id = `${kind}/${nameOf(doc.object)}`;
        const docs = this.byId.get(id) ?? [];
        docs.push(doc);
        this.byId.set(id, docs);
      }
    }
  }

  find(object: JsonObject, buildDir?: string): SourceDoc | undefined {
    const candidates = this.byId.get(`${kindOf(object) ?? ""}/${nameOf(object)}`) ?? [];
    if (candidates.length <= 1) return candidates[0];
    const near = buildDir ? candidates.filter((d) => d.file.startsWith(`${buildDir}/`)) : candidates;
    const pool = near.length > 0 ? near : candidates;
    const namespace = namespaceOf(object);
    return pool.find((d) => namespaceOf(d.object) === namespace) ?? pool[0];
  }
}

/** Resources read straight from source files (no kustomize): what the unit tests and rules use alone. */
export function resourcesFromSources(sources: Sources): Resource[] {
  const resources: Resource[] = [];
  for (const file of sources.files) {
    if (file.role !== "manifest") continue;
    for (const doc of file.docs)
      if (isObject(doc.object) && kindOf(doc.object)) resources.push({ object: doc.object, origin: doc });
  }
  return resources;
}

/** Every string in an object with its path (for image and version scans). */
export function* strings(value: Json | undefined, path: PathPart[] = []): Generator<[string, PathPart[]]> {
  if (typeof value === "string") yield [value, path];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, [...path, i]);
  else if (isObject(value))
    for (const [key, item] of Object.entries(value)) yield* strings(item, [...path, key]);
}
