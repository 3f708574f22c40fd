/**
 * Schema validation of built resources with kubeconform against the generated schemas: every resource
 * we own, by its exact apiVersion and kind. A kind without a schema is an error.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { kubeconform } from "../adapters/kubeconform.js";
import type { BuildResult } from "./build.js";
import type { Finding } from "./findings.js";
import { at, nameOf } from "./resources.js";
import { schemaLocation } from "./schema-cache.js";
import { isObject, type JsonObject, kindOf, type PathPart } from "./source.js";

function pointer(path: string): PathPart[] {
  return path
    .split("/")
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/**
 * kubeconform reports a failed anyOf/oneOf as "validation failed" at its parent; the full message holds
 * the deepest locations ("at '/spec/ports/0/targetPort': got array, want integer"). Use those instead.
 */
export function preciseErrors(
  errors: { path: string; msg: string }[],
  msg: string,
): { path: string; msg: string }[] {
  const precise = errors.filter((e) => e.msg !== "validation failed");
  const vague = errors.filter((e) => e.msg === "validation failed");
  if (vague.length === 0 && precise.length > 0) return precise;
  const segments = [...msg.matchAll(/at '([^']*)': (.*?)(?=\s+- at '|$)/g)].map((m) => ({
    path: m[1] ?? "",
    msg: (m[2] ?? "").trim(),
  }));
  const deepest = Math.max(0, ...segments.map((s) => s.path.split("/").length));
  const byPath = new Map<string, string[]>();
  for (const segment of segments.filter((s) => s.path.split("/").length === deepest)) {
    byPath.set(segment.path, [...(byPath.get(segment.path) ?? []), segment.msg]);
  }
  const parsed = [...byPath].map(([path, msgs]) => ({ path, msg: msgs.join("; ") }));
  if (parsed.length === 0) return precise.length > 0 ? precise : [{ path: vague[0]?.path ?? "", msg }];
  return [...precise, ...parsed];
}

/**
 * Decrypted Secret values never touch the disk: strings are replaced (types kept, so a decrypted value
 * of the wrong type is still reported) before the resource is written for kubeconform.
 */
export function masked(object: JsonObject): JsonObject {
  if (kindOf(object) !== "Secret") return object;
  const copy: JsonObject = { ...object };
  for (const key of ["data", "stringData"]) {
    const values = copy[key];
    if (!isObject(values)) continue;
    copy[key] = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k,
        typeof v === "string" ? (key === "data" ? "bWFza2Vk" : "masked") : v,
      ]),
    );
  }
  return copy;
}

/** For "additional properties 'x' not allowed", the path of x (so the line is the offending key). */
function extraProperty(msg: string): string[] {
  const name = /additional properties '([^']+)'/.exec(msg)?.[1];
  return name ? [name] : [];
}

export async function validateBuilds(
  builds: readonly BuildResult[],
  schemaDir: string,
  env: NodeJS.ProcessEnv,
): Promise<Finding[]> {
  const dir = await mkdtemp(join(tmpdir(), "infra-validate-"));
  try {
    // One file per resource: kubeconform reports by file, so each result maps to exactly one resource.
    const byFile = new Map<string, BuildResult["resources"][number]>();
    const files: string[] = [];
    let n = 0;
    for (const build of builds) {
      for (const resource of build.resources) {
        const file = join(dir, `${String(n++).padStart(4, "0")}.yaml`);
        byFile.set(file, resource);
        files.push(file);
      }
    }
    await Promise.all(
      files.map((file) => writeFile(file, stringify(masked(byFile.get(file)?.object ?? {})))),
    );
    const results = await kubeconform(files, schemaLocation(schemaDir), env);
    const findings: Finding[] = [];
    for (const result of results) {
      const resource = byFile.get(result.filename);
      if (!resource) continue;
      const id = `${kindOf(resource.object)} ${nameOf(resource.object)}`;
      if (result.status === "statusError") {
        const missing = /could not find schema/.test(result.msg);
        findings.push(
          at(resource, [], {
            rule: missing ? "schema-unknown-kind" : "schema",
            message: missing
              ? `${id}: no schema for ${String(resource.object.apiVersion)} ${kindOf(resource.object)} (unknown kind or version)`
              : `${id}: ${result.msg}`,
            fix: missing
              ? "fix apiVersion/kind (typo or removed version), or add the CRD's pinned source to src/check/schemas/sources.yaml"
              : "fix the manifest so it parses as a Kubernetes object",
          }),
        );
      } else if (result.status === "statusInvalid") {
        const errors = preciseErrors(result.validationErrors ?? [], result.msg);
        for (const error of errors) {
          findings.push(
            at(resource, [...pointer(error.path), ...extraProperty(error.msg)], {
              rule: "schema",
              message: `${id}: ${error.path || "/"}: ${error.msg}`,
              fix: `make the field match the ${String(resource.object.apiVersion)} ${kindOf(resource.object)} schema`,
            }),
          );
        }
      }
    }
    return findings;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
