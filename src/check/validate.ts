/**
 * Schema validation of built resources with kubeconform against the generated schemas: every resource
 * we own, by its exact apiVersion and kind. A kind without a schema is an error.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type KubeconformResult, kubeconformStream } from "../adapters/kubeconform.js";
import { apiVerdict } from "./api-versions.js";
import type { BuildResult } from "./build.js";
import type { Finding } from "./findings.js";
import { at, get, nameOf, type Resource } from "./resources.js";
import { KINDS_INDEX, loadSchemaSources, schemaLocation } from "./schema-cache.js";
import { isObject, type JsonObject, kindOf, type PathPart } from "./source.js";

function pointer(path: string): PathPart[] {
  return path
    .split("/")
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** Messages that only say "a branch below failed" (the branches' own errors say what). */
const VAGUE = /^(validation failed|anyOf failed|oneOf failed|allOf failed|doesn't validate with .*)$/;

/**
 * Every location kubeconform reports: its validation errors plus each `at '<path>': <message>` of its
 * message (where a failed anyOf/oneOf lists its branches). Messages only saying that a branch failed
 * are dropped when the branch's own error is there; each path keeps all of its messages.
 */
export function preciseErrors(
  errors: { path: string; msg: string }[],
  msg: string,
): { path: string; msg: string }[] {
  const segments = [...msg.matchAll(/at '([^']*)': (.*?)(?=\s+- at '|$)/g)].map((m) => ({
    path: m[1] ?? "",
    msg: (m[2] ?? "").trim(),
  }));
  const all = [...errors, ...segments].filter((e) => e.msg !== "");
  const concrete = all.filter((e) => !VAGUE.test(e.msg));
  const byPath = new Map<string, string[]>();
  for (const error of concrete.length > 0 ? concrete : all) {
    const messages = byPath.get(error.path) ?? [];
    if (!messages.includes(error.msg)) messages.push(error.msg);
    byPath.set(error.path, messages);
  }
  if (byPath.size === 0) return [{ path: errors[0]?.path ?? "", msg }];
  return [...byPath].map(([path, msgs]) => ({ path, msg: msgs.join("; ") }));
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

/** What kubeconform's "could not find schema" means for this object, and how bad it is. */
function unknownKind(
  resource: Resource,
  minor: number,
  served: Record<string, string[]>,
  known: readonly { group: string; reason: string }[],
): Finding | undefined {
  const apiVersion = String(resource.object.apiVersion ?? "");
  const kind = kindOf(resource.object) ?? "";
  const id = `${kind} ${nameOf(resource.object)}`;
  // Removed APIs are the api-removed rule's to report, with the release and the replacement.
  if (apiVerdict(apiVersion, kind, minor)?.removed) return undefined;
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "";
  const other = (served[kind] ?? []).filter(
    (v) => v.split("/")[0] === group.split("/")[0] || !v.includes("/"),
  );
  const sameGroup = other.filter((v) => (v.includes("/") ? v.slice(0, v.lastIndexOf("/")) : "") === group);
  if (sameGroup.length > 0) {
    return at(resource, ["apiVersion"], {
      rule: "schema-unknown-kind",
      message: `${id}: ${apiVersion} ${kind} is not served by the pinned Kubernetes/CRD versions (served: ${sameGroup.join(", ")})`,
      fix: `move the manifest to ${sameGroup[sameGroup.length - 1] ?? "a served version"} (check the fields that changed)`,
    });
  }
  const knownGroup = known.find((k) => k.group === group);
  if (knownGroup) {
    return at(resource, ["apiVersion"], {
      rule: "schema-not-validated",
      severity: "warning",
      message: `${id}: ${apiVersion} ${kind} is known (${knownGroup.reason}) but no pinned source has its schema; not validated`,
      fix: "nothing to do; add the CRD's module to src/check/schemas/sources.yaml to validate it",
    });
  }
  return at(resource, ["apiVersion"], {
    rule: "schema-unknown-kind",
    message: `${id}: no schema for ${apiVersion} ${kind} (unknown kind or version)`,
    fix: "fix apiVersion/kind (typo or removed version), or add the CRD's pinned source to src/check/schemas/sources.yaml",
  });
}

async function readServed(schemaDir: string): Promise<Record<string, string[]>> {
  try {
    return JSON.parse(await readFile(join(schemaDir, KINDS_INDEX), "utf8")) as Record<string, string[]>;
  } catch {
    return {};
  }
}

/** Names of the probe documents that warm kubeconform's schema cache. */
const WARM = "infra-check-warm-";

/** Chunks of text handed to a reader as they are pushed (an unbounded queue). */
class Channel implements AsyncIterable<string> {
  private readonly queue: string[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  push(text: string): void {
    this.queue.push(text);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) yield next;
      else if (this.closed) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

export interface Validation {
  /**
   * Has kubeconform load and compile the schemas of these kinds now (the costly part of validation),
   * with a probe document each whose result is ignored, while the builds run.
   */
  warm(kinds: Iterable<{ apiVersion: string; kind: string }>): void;
  /** Queues resources; kubeconform validates them while the caller goes on. */
  add(resources: readonly Resource[]): void;
  /** No more resources: waits for kubeconform and returns its findings (the same promise when called again). */
  finish(): Promise<Finding[]>;
}

/**
 * One kubeconform process for the whole check, started before the builds end: each build's resources
 * are streamed to it as the build finishes. Each document is named with a token (its schema does not
 * constrain names), so that every result maps back to exactly one resource.
 */
export function startValidation(schemaDir: Promise<string>, env: NodeJS.ProcessEnv, minor = 0): Validation {
  const channel = new Channel();
  const byName = new Map<string, Resource>();
  const unnamed: Resource[] = [];
  let n = 0;
  const results = schemaDir.then((dir) =>
    Promise.all([kubeconformStream(channel, schemaLocation(dir), env), readServed(dir), loadSchemaSources()]),
  );
  // Awaited in finish(); a failure in between is not an unhandled rejection.
  results.catch(() => undefined);
  const warmed = new Set<string>();
  let finishing: Promise<Finding[]> | undefined;
  return {
    warm(kinds) {
      const chunk: string[] = [];
      for (const { apiVersion, kind } of kinds) {
        const key = `${apiVersion}/${kind}`;
        if (warmed.has(key)) continue;
        warmed.add(key);
        chunk.push(
          `---\n${JSON.stringify({ apiVersion, kind, metadata: { name: `${WARM}${warmed.size}` } })}\n`,
        );
      }
      if (chunk.length > 0) channel.push(chunk.join(""));
    },
    add(resources) {
      const chunk: string[] = [];
      for (const resource of resources) {
        const object = masked(resource.object);
        const name = get(object, "metadata", "name");
        let copy: JsonObject = object;
        if (name === undefined || typeof name === "string") {
          const token = `infra-check-${n++}`;
          byName.set(token, resource);
          copy = {
            ...object,
            metadata: { ...(isObject(object.metadata) ? object.metadata : {}), name: token },
          };
        } else unnamed.push(resource);
        chunk.push(`---\n${JSON.stringify(copy)}\n`);
      }
      channel.push(chunk.join(""));
    },
    finish() {
      finishing ??= collect();
      return finishing;
    },
  };

  async function collect(): Promise<Finding[]> {
    channel.close();
    const [found, served, sources] = await results;
    const findings: Finding[] = [];
    for (const result of found) {
      if (result.name.startsWith(WARM)) continue;
      const resource =
        byName.get(result.name) ??
        unnamed.find(
          (r) => kindOf(r.object) === result.kind && String(r.object.apiVersion) === result.version,
        );
      if (!resource) continue;
      findings.push(...findingsOf(result, resource, minor, served, sources.known));
    }
    return findings;
  }
}

function findingsOf(
  result: KubeconformResult,
  resource: Resource,
  minor: number,
  served: Record<string, string[]>,
  known: readonly { group: string; reason: string }[],
): Finding[] {
  const id = `${kindOf(resource.object)} ${nameOf(resource.object)}`;
  if (result.status === "statusError") {
    if (/could not find schema/.test(result.msg)) {
      const finding = unknownKind(resource, minor, served, known);
      return finding ? [finding] : [];
    }
    return [
      at(resource, [], {
        rule: "schema",
        message: `${id}: ${result.msg}`,
        fix: "fix the manifest so it parses as a Kubernetes object",
      }),
    ];
  }
  if (result.status !== "statusInvalid") return [];
  return preciseErrors(result.validationErrors ?? [], result.msg).map((error) =>
    at(resource, [...pointer(error.path), ...extraProperty(error.msg)], {
      rule: "schema",
      message: `${id}: ${error.path || "/"}: ${error.msg}`,
      fix: `make the field match the ${String(resource.object.apiVersion)} ${kindOf(resource.object)} schema`,
    }),
  );
}

/** Validates built resources in one go (what the tests and one-shot callers use). */
export async function validateBuilds(
  builds: readonly BuildResult[],
  schemaDir: string,
  env: NodeJS.ProcessEnv,
  minor = 0,
): Promise<Finding[]> {
  const validation = startValidation(Promise.resolve(schemaDir), env, minor);
  for (const build of builds) validation.add(build.resources);
  return validation.finish();
}
