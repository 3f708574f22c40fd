import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { type PinnedTool, recipeHash, type Versions } from "./versions.js";

/** The per-user cache outside the clone: a second install (or a second clone) reuses it. */
export function cacheRoot(env: NodeJS.ProcessEnv): string {
  if (env.INFRA_CACHE_DIR) return env.INFRA_CACHE_DIR;
  return join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), ".cache"), "infra-k3s");
}

/** One virtualenv for all pip tools, keyed by the Python series and every pip pin. */
export function venvDir(env: NodeJS.ProcessEnv, versions: Versions): string {
  const pins = versions.tools
    .filter((t) => t.kind === "pip")
    .map((t) => `${t.name}==${"version" in t ? t.version : ""}`);
  return join(cacheRoot(env), "venv", `py${versions.python}-${recipeHash(pins)}`);
}

/** Where a tool's binaries live; undefined for apt tools (they are on the system PATH). */
export function toolBinDir(env: NodeJS.ProcessEnv, versions: Versions, tool: PinnedTool): string | undefined {
  switch (tool.kind) {
    case "pip":
      return join(venvDir(env, versions), "bin");
    case "go":
      return join(goToolDir(env, tool), "bin");
    case "npm":
      return join(npmToolDir(env, tool), "bin");
    case "apt":
      return undefined;
  }
}

export function goToolDir(env: NodeJS.ProcessEnv, tool: PinnedTool & { kind: "go" }): string {
  return join(cacheRoot(env), "go", `${tool.name}-${tool.version}-${recipeHash(recipeOf(tool))}`);
}

export function npmToolDir(env: NodeJS.ProcessEnv, tool: PinnedTool & { kind: "npm" }): string {
  return join(cacheRoot(env), "npm", `${tool.name}-${tool.version}-${recipeHash(recipeOf(tool))}`);
}

/** The group says who needs a tool, not how it is built: it stays out of the recipe's hash. */
function recipeOf(tool: PinnedTool): Omit<PinnedTool, "group"> {
  const { group: _group, ...recipe } = tool;
  return recipe;
}

/** PATH with every pinned tool's directory first, so adapters and tests run exactly the pins. */
export function toolPath(env: NodeJS.ProcessEnv, versions: Versions): string {
  const dirs = new Set<string>();
  for (const tool of versions.tools) {
    const dir = toolBinDir(env, versions, tool);
    if (dir) dirs.add(dir);
  }
  return [...dirs, env.PATH ?? ""].filter(Boolean).join(delimiter);
}

/** The pins (`name==version`) installed into a virtualenv so far, from its marker; none when absent. */
export async function installedPins(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, ".complete"), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  try {
    const marker = JSON.parse(text) as { pins?: unknown };
    return Array.isArray(marker.pins) ? marker.pins.filter((p): p is string => typeof p === "string") : [];
  } catch {
    return [];
  }
}
