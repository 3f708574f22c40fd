/**
 * A failed `kustomize build`, translated to the manifest and field that caused it where that can be
 * known (a replacement target without the field, a duplicated object, a missing file), always keeping
 * kustomize's own message. After a failure the rules still see the documents the build would have read.
 */
import { posix } from "node:path";
import type { Finding } from "./findings.js";
import { closure, type KustomizationRefs } from "./kustomizations.js";
import { get, list, nameOf, namespaceOf, type Resource, str } from "./resources.js";
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

/** kustomize's error, without its stack of wrappers and escapes: one line, as kustomize says it. */
export function kustomizeMessage(stderr: string): string {
  const text = stderr
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("\t") && !/^\s+at /.test(line))
    .join(" ")
    .replace(/^Error:\s*/, "")
    .replace(/\\+"/g, '"')
    .trim();
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

/** The documents of the files a kustomization reaches. */
function docsOf(dir: string, refs: ReadonlyMap<string, KustomizationRefs>, sources: Sources): SourceDoc[] {
  const files = closure(dir, refs);
  return sources.files
    .filter(
      (f) =>
        f.role !== "kustomization" &&
        (files.has(f.file) || [...files].some((d) => f.file.startsWith(`${d}/`))),
    )
    .flatMap((f) => f.docs)
    .filter((d) => kindOf(d.object) !== undefined);
}

/** The line of the kustomization entry the error names (the longest entry found in it), else 1. */
function lineNaming(ref: KustomizationRefs, sources: Sources, text: string): number {
  const file = sources.files.find((f) => f.file === ref.file);
  if (!file) return 1;
  const named = ref.entries
    .map((e) => e.entry)
    .filter((entry) => text.includes(entry.replace(/^\.\//, "")))
    .sort((a, b) => b.length - a.length)[0];
  if (!named) return 1;
  const index = file.text.split("\n").findIndex((line) => /^\s*-\s*/.test(line) && line.includes(named));
  return index >= 0 ? index + 1 : 1;
}

/** A kustomize field path (`a.b.0.[name=x].c`) as the longest existing path in an object. */
export function resolveFieldPath(object: Json, fieldPath: string): { path: PathPart[]; complete: boolean } {
  const parts = fieldPath.split(".").filter(Boolean);
  const path: PathPart[] = [];
  let current: Json | undefined = object;
  for (const part of parts) {
    const selector = /^\[([^=\]]+)=([^\]]*)\]$/.exec(part);
    let next: Json | undefined;
    let key: PathPart = part;
    if (selector && Array.isArray(current)) {
      const [, field, value] = selector;
      const pattern = new RegExp(`^(?:${value ?? ""})$`);
      const index = current.findIndex((item) => pattern.test(String(get(item, field ?? "") ?? "")));
      key = index;
      next = index < 0 ? undefined : current[index];
    } else if (/^\d+$/.test(part) && Array.isArray(current)) {
      key = Number(part);
      next = current[key];
    } else next = isObject(current) ? current[part] : undefined;
    if (next === undefined) return { path, complete: false };
    path.push(key);
    current = next;
  }
  return { path, complete: true };
}

function matchesSelector(doc: SourceDoc, select: Json): boolean {
  const kind = str(get(select, "kind"));
  const name = str(get(select, "name"));
  if (kind && kindOf(doc.object) !== kind) return false;
  if (name && !new RegExp(`^(?:${name})$`).test(nameOf(doc.object))) return false;
  for (const [key, field] of [
    ["labelSelector", "labels"],
    ["annotationSelector", "annotations"],
  ] as const) {
    const selector = str(get(select, key));
    if (!selector) continue;
    for (const term of selector.split(",")) {
      const [k, v] = term.split("=");
      const actual = get(doc.object, "metadata", field, (k ?? "").trim());
      if (actual === undefined || (v !== undefined && String(actual) !== v.trim())) return false;
    }
  }
  return true;
}

/** "unable to find field X in replacement target": the documents the replacement selects that lack X. */
function missingReplacementField(
  field: string,
  ref: KustomizationRefs,
  refs: ReadonlyMap<string, KustomizationRefs>,
  sources: Sources,
  original: string,
): Finding[] {
  const docs = docsOf(ref.dir, refs, sources);
  const findings: Finding[] = [];
  const files = closure(ref.dir, refs);
  for (const file of sources.files.filter((f) => f.role === "kustomization" && files.has(f.file))) {
    for (const replacement of list(get(file.docs[0]?.object, "replacements"))) {
      const value = str(get(replacement, "source", "fieldPath"))?.replace(/^data\./, "");
      for (const target of list(get(replacement, "targets"))) {
        if (!list(get(target, "fieldPaths")).includes(field)) continue;
        for (const doc of docs) {
          if (!matchesSelector(doc, get(target, "select") ?? {})) continue;
          const resolved = resolveFieldPath(doc.object, field);
          if (resolved.complete) continue;
          findings.push({
            rule: "kustomize-build",
            severity: "error",
            message: `${kindOf(doc.object)} ${nameOf(doc.object)} has no ${field}, where a replacement of ${file.file} copies ${value ? `the value \`${value}\`` : "a value"}, so kustomize build ${ref.dir} fails (kustomize: ${original})`,
            fix: "add the field to the manifest (a placeholder such as `set-by-cluster-values` is enough), or narrow the replacement's select",
            file: doc.file,
            line: lineOf(doc, resolved.path),
          });
        }
      }
    }
  }
  return findings;
}

/** "may not add resource with an already registered id": where the object is declared. */
function duplicated(
  id: string,
  ref: KustomizationRefs,
  refs: ReadonlyMap<string, KustomizationRefs>,
  sources: Sources,
  original: string,
): Finding[] {
  const match = /^([^.]+)\.[^.]+\.(.+?)\/(.+)\.([^.]+)$/.exec(id);
  if (!match) return [];
  const [, kind, , name, namespace] = match;
  const docs = docsOf(ref.dir, refs, sources).filter(
    (d) =>
      kindOf(d.object) === kind &&
      nameOf(d.object) === name &&
      (namespace === "[noNs]" || (namespaceOf(d.object) ?? namespace) === namespace),
  );
  const where = (d: SourceDoc) => `${d.file}:${d.line}`;
  // kustomize names the file it was adding when it met the object again: report there.
  const adding = /(?:merging|accumulating) resources from '([^']+)'/.exec(original)?.[1];
  const addingFile = adding ? posix.normalize(posix.join(ref.dir, adding)) : undefined;
  const last = docs.filter((d) => d.file === addingFile).pop() ?? docs[docs.length - 1];
  if (docs.length >= 2 && last) {
    const sameFile = docs.every((d) => d.file === last.file);
    return [
      {
        rule: "kustomize-build",
        severity: "error",
        message: sameFile
          ? `${kind} ${name} is declared ${docs.length} times in ${last.file} (lines ${docs.map((d) => d.line).join(", ")}) (kustomize: ${original})`
          : `${kind} ${name} is declared ${docs.length} times: ${docs.map(where).join(", ")} (kustomize: ${original})`,
        fix: "keep one declaration of the object (delete or rename the others)",
        file: last.file,
        line: last.line,
      },
    ];
  }
  const only = docs[0];
  return [
    {
      rule: "kustomize-build",
      severity: "error",
      message: only
        ? `${kind} ${name} (${where(only)}) is included twice by kustomize build ${ref.dir}: a file or folder is listed twice (kustomize: ${original})`
        : `${kind} ${name} is declared twice in kustomize build ${ref.dir} (kustomize: ${original})`,
      fix: "list each file or folder once (also through the bases and components it includes)",
      file: ref.file,
      line: lineNaming(ref, sources, original),
    },
  ];
}

export function explainBuildFailure(input: {
  ref: KustomizationRefs;
  stderr: string;
  sources: Sources;
  refs: ReadonlyMap<string, KustomizationRefs>;
}): Finding[] {
  const { ref, stderr, sources, refs } = input;
  const original = kustomizeMessage(stderr);
  if (/cluster-values\/values\.yaml[^\n]*no such file/.test(stderr)) return [missingValuesFile()];
  const missingValue =
    /fieldPath `data\.([^`]+)` is missing for replacement source ConfigMap[^ ]*\/cluster-values/.exec(
      original,
    );
  if (missingValue) {
    // One finding at the values file rather than one per kustomization that includes the component.
    return [
      {
        rule: "cluster-values-missing",
        severity: "error",
        message: `kubernetes/cluster-values/values.yaml has no \`${missingValue[1]}\`, which the GitOps tree needs`,
        fix: "run `infra configure` (it renders the file from cluster.yaml) and commit the result",
        file: "kubernetes/cluster-values/values.yaml",
        line: 1,
      },
    ];
  }
  const field = /unable to find field "([^"]+)" in replacement target/.exec(original);
  if (field?.[1]) {
    const located = missingReplacementField(field[1], ref, refs, sources, original);
    if (located.length > 0) return located;
  }
  const duplicate = /already registered id: ([^\s']+)/.exec(original);
  if (duplicate?.[1]) return duplicated(duplicate[1], ref, refs, sources, original);
  const missing =
    /evalsymlink failure on '([^']+)'/.exec(original) ??
    /lstat ([^\s:']+): no such file or directory/.exec(original);
  if (missing?.[1]) {
    return [
      {
        rule: "kustomize-build",
        severity: "error",
        message: `kustomize build ${ref.dir} failed: a listed file or directory does not exist: ${missing[1].replace(/^\.\//, "")} (kustomize: ${original})`,
        fix: "create the file or remove the entry from the kustomization",
        file: ref.file,
        line: lineNaming(ref, sources, original),
      },
    ];
  }
  return [
    {
      rule: "kustomize-build",
      severity: "error",
      message: `kustomize build ${ref.dir} failed: ${original}`,
      fix: `run \`kustomize build --enable-alpha-plugins --enable-exec ${ref.dir}\` to see the whole error`,
      file: ref.file,
      line: lineNaming(ref, sources, original),
    },
  ];
}

/** Kinds that have no namespace (kustomize's `namespace:` leaves them alone). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "ClusterIssuer",
  "StorageClass",
  "GatewayClass",
  "PriorityClass",
  "PersistentVolume",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "IngressClass",
  "RuntimeClass",
  "CSIDriver",
  "ClusterSecretStore",
  "ClusterExternalSecret",
]);

/** Sets a value at a kustomize field path that exists (`options.delimiter`/`index` replace one part). */
function setFieldPath(object: Json, fieldPath: string, value: Json, options: Json | undefined): void {
  const { path, complete } = resolveFieldPath(object, fieldPath);
  if (!complete || path.length === 0) return;
  const parent = path.slice(0, -1).reduce<Json | undefined>((node, key) => get(node, key), object);
  const key = path[path.length - 1];
  if (key === undefined || parent === undefined || parent === null || typeof parent !== "object") return;
  const container = parent as Record<string | number, Json>;
  const delimiter = str(get(options, "delimiter"));
  const index = get(options, "index");
  if (delimiter !== undefined && typeof container[key] === "string") {
    const parts = String(container[key]).split(delimiter);
    const at = typeof index === "number" ? index : 0;
    if (at < parts.length) parts[at] = String(value);
    container[key] = parts.join(delimiter);
  } else container[key] = value;
}

/**
 * kustomize's replacements applied to the documents of a failed build (best effort): copies the values
 * of their sources into their targets, so rules judge the values the cluster would get, not placeholders.
 */
function applyReplacements(objects: JsonObject[], docs: SourceDoc[], kustomizations: SourceDoc[]): void {
  for (const kustomization of kustomizations) {
    for (const replacement of list(get(kustomization.object, "replacements"))) {
      const source = get(replacement, "source");
      const from = docs.find((d) => matchesSelector(d, source ?? {}));
      const fieldPath = str(get(source, "fieldPath")) ?? "metadata.name";
      const resolved = from ? resolveFieldPath(from.object, fieldPath) : undefined;
      if (!from || !resolved?.complete) continue;
      const value =
        resolved.path.reduce<Json | undefined>((node, key) => get(node, key), from.object) ?? null;
      for (const target of list(get(replacement, "targets"))) {
        objects.forEach((object, i) => {
          const doc = docs[i];
          if (!doc || !matchesSelector({ ...doc, object }, get(target, "select") ?? {})) return;
          for (const path of list(get(target, "fieldPaths"))) {
            if (typeof path === "string") setFieldPath(object, path, value, get(target, "options"));
          }
        });
      }
    }
  }
}

/**
 * What the rules see of a kustomization whose build failed: the documents it reaches, with its
 * `namespace:` and replacements applied, so a rule about one of them still runs.
 */
export function fallbackResources(
  dir: string,
  refs: ReadonlyMap<string, KustomizationRefs>,
  sources: Sources,
): Resource[] {
  const namespace = str(
    get(sources.files.find((f) => f.file === refs.get(dir)?.file)?.docs[0]?.object, "namespace"),
  );
  const reached = closure(dir, refs);
  const kustomizations = sources.files
    .filter((f) => f.role === "kustomization" && reached.has(f.file))
    .flatMap((f) => f.docs.slice(0, 1));
  const docs = docsOf(dir, refs, sources).filter(
    (doc) => isObject(doc.object) && kindOf(doc.object) !== "ksops",
  );
  const objects = docs.map((doc) => structuredClone(doc.object) as JsonObject);
  try {
    applyReplacements(objects, docs, kustomizations);
  } catch {
    // Best effort: the rules then see the documents as written.
  }
  const local = (d: SourceDoc) =>
    get(d.object, "metadata", "annotations", "config.kubernetes.io/local-config") === "true";
  return docs.flatMap((doc, i) => {
    const object = objects[i];
    if (!object || local(doc)) return [];
    if (namespace && !CLUSTER_SCOPED.has(kindOf(object) ?? "") && isObject(object.metadata)) {
      object.metadata.namespace = namespace;
    }
    return [{ object, origin: doc, build: dir }];
  });
}
