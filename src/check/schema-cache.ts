/**
 * JSON schemas for every apiVersion and kind `infra check` validates, generated once into the per-user
 * cache from pinned upstream sources (schemas/sources.yaml): the Kubernetes OpenAPI document and the CRDs
 * of the components we use, read from their Go module versions (`go mod download`, offline once cached).
 * Files are laid out for kubeconform: `<group>/<kind>_<version>.json` (`v1/` for the core group).
 * Schemas are strict: an object with declared properties rejects any other property.
 */
import { existsSync } from "node:fs";
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { exec } from "../adapters/exec.js";
import { loadYaml } from "../config/yaml-data.js";
import { InfraError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { cacheRoot } from "../toolchain/paths.js";
import { recipeHash } from "../toolchain/versions.js";

/** Bump when the conversion changes, so caches are regenerated. */
const CONVERTER = 4;

/** In the schema directory: every kind -> the apiVersions that have a schema (for "not served" hints). */
export const KINDS_INDEX = "kinds.json";

const ModuleRef = z.object({ module: z.string(), version: z.string().regex(/^v\d/) });
const CrdSource = ModuleRef.extend({ paths: z.array(z.string()).min(1) });
const SourcesFile = z
  .object({
    kubernetes: ModuleRef.extend({ swagger: z.string() }),
    crds: z.array(CrdSource),
    ecosystem: z.array(CrdSource).default([]),
    known: z.array(z.object({ group: z.string(), reason: z.string() })).default([]),
    local: z.array(z.object({ file: z.string(), group: z.string(), version: z.string(), kind: z.string() })),
  })
  .strict();
export type SchemaSources = z.infer<typeof SourcesFile>;

export const SCHEMA_SOURCES = join(PACKAGE_ROOT, "src", "check", "schemas", "sources.yaml");

type Schema = { [key: string]: unknown };

export async function loadSchemaSources(file = SCHEMA_SOURCES): Promise<SchemaSources> {
  const read = loadYaml(await readFile(file, "utf8"));
  const parsed = SourcesFile.safeParse(read.ok ? read.value : undefined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InfraError("SCHEMA_SOURCES_INVALID", issue?.message ?? "invalid schema sources", {
      kind: "config",
      location: { file, path: issue?.path.join(".") },
      hint: "fix the entry so it has module, version and paths",
    });
  }
  return parsed.data;
}

/** The kubeconform `-schema-location` template for a schema directory. */
export function schemaLocation(dir: string): string {
  return `${dir}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
}

export function schemaFile(dir: string, group: string, version: string, kind: string): string {
  return join(dir, group || version, `${kind.toLowerCase()}_${version}.json`);
}

/** Returns the schema directory, generating it first when the cache has none for these sources. */
export async function ensureSchemas(
  env: NodeJS.ProcessEnv,
  onPhase?: (title: string) => void,
): Promise<string> {
  const sources = await loadSchemaSources();
  const locals = await Promise.all(
    sources.local.map(async (l) => readFile(join(PACKAGE_ROOT, "src", "check", "schemas", l.file), "utf8")),
  );
  const dir = join(cacheRoot(env), "schemas", recipeHash({ sources, locals, CONVERTER }));
  try {
    await access(join(dir, ".complete"));
    return dir;
  } catch {
    // generate below
  }
  onPhase?.("Generate Kubernetes and CRD schemas from the pinned sources (first time only)");
  const temp = `${dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  await generate(sources, env, temp);
  await writeFile(join(temp, ".complete"), new Date().toISOString());
  await mkdir(join(dir, ".."), { recursive: true });
  try {
    await rename(temp, dir);
  } catch (error) {
    // Another process finished first (parallel test workers): keep its copy, never remove one in use.
    await rm(temp, { recursive: true, force: true });
    if (!existsSync(join(dir, ".complete"))) throw error;
  }
  return dir;
}

/** `go mod download -json module@version` → the module's directory in the Go module cache. */
async function moduleDir(ref: { module: string; version: string }, env: NodeJS.ProcessEnv): Promise<string> {
  const result = await exec("go", ["mod", "download", "-json", `${ref.module}@${ref.version}`], {
    env: { ...env, GOFLAGS: "-mod=mod", GO111MODULE: "on" },
    cwd: tmpdir(),
    check: false,
  }).catch((error: unknown) => {
    throw new InfraError(
      "SCHEMAS_UNAVAILABLE",
      "the Go toolchain (`go`) is needed once to fetch the schema sources",
      {
        kind: "preflight",
        hint: "install Go (>= 1.22) and run `infra check` again; afterwards it works offline",
        cause: error,
      },
    );
  });
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(result.stdout) as typeof info;
  } catch {
    // fall through to the error below
  }
  if (result.exitCode !== 0 || !info.Dir) {
    throw new InfraError(
      "SCHEMAS_UNAVAILABLE",
      `cannot fetch schema source ${ref.module}@${ref.version}: ${info.Error ?? result.stderr.trim()}`,
      {
        kind: "preflight",
        location: { file: SCHEMA_SOURCES },
        hint: "check the module version in src/check/schemas/sources.yaml and that the Go module proxy is reachable once",
      },
    );
  }
  return info.Dir;
}

async function generate(sources: SchemaSources, env: NodeJS.ProcessEnv, out: string): Promise<void> {
  const k8sDir = await moduleDir(sources.kubernetes, env);
  const swagger = JSON.parse(await readFile(join(k8sDir, sources.kubernetes.swagger), "utf8")) as {
    definitions: Record<string, Schema>;
  };
  const definitions: Record<string, Schema> = {};
  for (const [name, def] of Object.entries(swagger.definitions))
    definitions[name] = convert(special(name) ?? def);
  const writes: Promise<void>[] = [];
  const kinds: Record<string, string[]> = {};
  const write = (group: string, version: string, kind: string, schema: Schema) => {
    const apiVersion = group ? `${group}/${version}` : version;
    kinds[kind] = [...new Set([...(kinds[kind] ?? []), apiVersion])].sort();
    const file = schemaFile(out, group, version, kind);
    writes.push(
      mkdir(join(file, ".."), { recursive: true }).then(() => writeFile(file, JSON.stringify(schema))),
    );
  };

  for (const [name, def] of Object.entries(swagger.definitions)) {
    const gvks = def["x-kubernetes-group-version-kind"] as
      | { group: string; version: string; kind: string }[]
      | undefined;
    if (gvks?.length !== 1) continue;
    const gvk = gvks[0];
    if (!gvk) continue;
    const root = withTypeMeta(definitions[name] ?? {}, gvk.group, gvk.version, gvk.kind);
    write(gvk.group, gvk.version, gvk.kind, withDefinitions(root, definitions));
  }

  for (const source of [...sources.crds, ...sources.ecosystem]) {
    const dir = await moduleDir(source, env);
    for (const path of source.paths) {
      for (const file of await yamlFiles(join(dir, path))) {
        for (const doc of parseAllDocuments(await readFile(file, "utf8"))) {
          const crd = doc.toJS() as Schema | null;
          if (crd?.kind !== "CustomResourceDefinition") continue;
          const spec = crd.spec as {
            group: string;
            names: { kind: string };
            versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[];
          };
          for (const version of spec.versions) {
            const schema = version.schema?.openAPIV3Schema;
            if (!schema || version.served === false) continue;
            const root = withTypeMeta(convert(schema), spec.group, version.name, spec.names.kind);
            write(spec.group, version.name, spec.names.kind, withDefinitions(root, definitions));
          }
        }
      }
    }
  }

  for (const local of sources.local) {
    const raw = JSON.parse(
      await readFile(join(PACKAGE_ROOT, "src", "check", "schemas", local.file), "utf8"),
    ) as Schema;
    const own = (raw.definitions ?? {}) as Record<string, Schema>;
    const all = { ...definitions };
    for (const [name, def] of Object.entries(own)) all[name] = convert(def);
    const { definitions: _, description: __, ...body } = raw;
    const root = withTypeMeta(convert(body), local.group, local.version, local.kind);
    write(local.group, local.version, local.kind, withDefinitions(root, all));
  }
  await Promise.all(writes);
  await writeFile(join(out, KINDS_INDEX), JSON.stringify(kinds));
}

async function yamlFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (info.isFile()) return [path];
  return (await readdir(path))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(path, name));
}

/** Kubernetes string-or-number types that the OpenAPI document declares only as strings. */
function special(name: string): Schema | undefined {
  if (name === "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
    return { "x-kubernetes-int-or-string": true };
  if (name === "io.k8s.apimachinery.pkg.api.resource.Quantity") {
    return { anyOf: [{ type: "string" }, { type: "number" }] };
  }
  return undefined;
}

const DROP = new Set(["description", "format", "default", "example", "externalDocs", "nullable"]);

/** OpenAPI (v2 definition or CRD v3 schema) → strict JSON schema. */
export function convert(input: Schema): Schema {
  if (input["x-kubernetes-int-or-string"] === true) {
    return { anyOf: [{ type: "integer" }, { type: "string" }, { type: "null" }] };
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(input)) {
    if (DROP.has(key) || key.startsWith("x-kubernetes-")) continue;
    if (key === "properties" && value && typeof value === "object") {
      const props: Schema = {};
      for (const [name, sub] of Object.entries(value as Record<string, Schema>)) props[name] = convert(sub);
      out.properties = props;
    } else if (key === "items" && value && typeof value === "object" && !Array.isArray(value)) {
      out.items = convert(value as Schema);
    } else if (key === "additionalProperties" && value && typeof value === "object") {
      out.additionalProperties = convert(value as Schema);
    } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = (value as Schema[]).map(convert);
    } else if (key === "not" && value && typeof value === "object") {
      out.not = convert(value as Schema);
    } else out[key] = value;
  }
  if (typeof out.type === "string") out.type = [out.type, "null"];
  const isObject =
    out.type === undefined ? out.properties !== undefined : (out.type as string[]).includes("object");
  if (
    isObject &&
    out.properties &&
    out.additionalProperties === undefined &&
    input["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function withTypeMeta(schema: Schema, group: string, version: string, kind: string): Schema {
  const apiVersion = group ? `${group}/${version}` : version;
  const properties = { ...((schema.properties ?? {}) as Schema) };
  properties.apiVersion = { type: "string", enum: [apiVersion] };
  properties.kind = { type: "string", enum: [kind] };
  properties.metadata = { $ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" };
  return { ...schema, type: "object", properties, additionalProperties: false };
}

/** Adds the definitions a schema refers to (transitively), so each file stands alone. */
function withDefinitions(schema: Schema, all: Record<string, Schema>): Schema {
  const needed = new Map<string, Schema>();
  const visit = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) visit(item);
    else if (value && typeof value === "object") {
      for (const [key, sub] of Object.entries(value)) {
        if (key === "$ref" && typeof sub === "string" && sub.startsWith("#/definitions/")) {
          const name = sub.slice("#/definitions/".length);
          const def = all[name];
          if (def && !needed.has(name)) {
            needed.set(name, def);
            visit(def);
          }
        } else visit(sub);
      }
    }
  };
  visit(schema);
  return { ...schema, definitions: Object.fromEntries(needed) };
}
