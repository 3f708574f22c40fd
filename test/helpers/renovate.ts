/**
 * Renovate's own view of a repository, for the static tier: the pinned `renovate` (tools/versions.yaml)
 * runs its extraction offline (`--platform=local --dry-run=extract`: managers only, no lookups, no
 * network) with the repository's renovate.json, and its datasource list comes from the same package.
 * The checks below compare that with every `# renovate:` annotation in the tree, so the managers'
 * regular expressions live in renovate.json only.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, matchesGlob } from "node:path";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { nodePackage } from "../../src/toolchain/install.js";
import { npmToolDir } from "../../src/toolchain/paths.js";
import { loadVersions } from "../../src/toolchain/versions.js";

interface ExtractedDep {
  depName?: string;
  datasource?: string;
  currentValue?: string;
  replaceString?: string;
}

interface PackageFile {
  packageFile: string;
  matchStrings?: string[];
  deps: ExtractedDep[];
}

interface CustomManager {
  customType: string;
  description?: string;
  matchStrings: string[];
}

interface RenovateConfig {
  ignorePaths?: string[];
  customManagers?: CustomManager[];
}

export const ANNOTATION = "# renovate:";

const INSTALL = "run `./infra tools install renovate`";

/** The pinned renovate package's directory in the tool cache, and the Node.js it runs on. */
async function renovateInstall(): Promise<{ dir: string; node: string }> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const tool = versions.tools.find((t) => t.name === "renovate");
  if (tool?.kind !== "npm") throw new Error("tools/versions.yaml pins no npm tool named renovate");
  const dir = npmToolDir(process.env, tool);
  if (!existsSync(join(dir, ".complete"))) throw new Error(`renovate is not installed: ${INSTALL}`);
  const node = tool.node ? join(dir, "node_modules", nodePackage(), "bin", "node") : process.execPath;
  return { dir, node };
}

/** Every datasource id the pinned Renovate knows. */
export async function renovateDatasources(): Promise<Set<string>> {
  const { dir, node } = await renovateInstall();
  const api = join(dir, "node_modules", "renovate", "dist", "modules", "datasource", "api.js");
  const script = `const m = await import(${JSON.stringify(api)}); console.log(JSON.stringify([...m.default.keys()]));`;
  const result = spawnSync(node, ["--input-type=module", "-e", script], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`reading Renovate's datasources failed: ${result.stderr}`);
  return new Set(JSON.parse(result.stdout) as string[]);
}

/** Runs Renovate's extraction on a git repository (committed files only, as Renovate reads them). */
export async function renovateExtract(repo: string): Promise<Record<string, PackageFile[]>> {
  await renovateInstall();
  const base = await mkdtemp(join(tmpdir(), "infra-k3s-renovate-"));
  try {
    const result = spawnSync("renovate", ["--platform=local", "--dry-run=extract", "--onboarding=false"], {
      cwd: repo,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      // its own base and cache directories: other runs on this machine use the default ones
      env: { ...process.env, LOG_LEVEL: "debug", LOG_FORMAT: "json", RENOVATE_BASE_DIR: base },
    });
    if (result.error) throw new Error(`renovate did not run (${result.error.message}): ${INSTALL}`);
    for (const line of result.stdout.split("\n")) {
      if (!line.includes('"Extracted dependencies"')) continue;
      const entry = JSON.parse(line) as { msg?: string; packageFiles?: Record<string, PackageFile[]> };
      if (entry.msg === "Extracted dependencies" && entry.packageFiles) return entry.packageFiles;
    }
    throw new Error(`renovate extracted nothing (exit ${result.status}):\n${result.stdout.slice(-4000)}`);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

function trackedFiles(repo: string): string[] {
  const result = spawnSync("git", ["ls-files"], { cwd: repo, encoding: "utf8" });
  return result.stdout.split("\n").filter(Boolean);
}

/**
 * What is wrong between the repository's annotations and its renovate.json, one located line each:
 * an annotation no custom manager matches, a custom manager that matches nothing, a datasource
 * Renovate does not know.
 */
export async function annotationProblems(repo: string): Promise<{ problems: string[]; matched: number }> {
  const config = JSON.parse(readFileSync(join(repo, "renovate.json"), "utf8")) as RenovateConfig;
  const managers = config.customManagers ?? [];
  const ignored = (file: string) => (config.ignorePaths ?? []).some((glob) => matchesGlob(file, glob));
  const [extracted, datasources] = await Promise.all([renovateExtract(repo), renovateDatasources()]);

  // Which annotation lines each of our managers matched (a dep's replaceString starts at its annotation).
  const matchedLines = new Set<string>();
  const perManager = managers.map(() => 0);
  const problems: string[] = [];
  for (const packageFile of extracted.regex ?? []) {
    const index = managers.findIndex(
      (m) => JSON.stringify(m.matchStrings) === JSON.stringify(packageFile.matchStrings),
    );
    if (index < 0) continue; // a manager a preset brought, not ours
    const text = readFileSync(join(repo, packageFile.packageFile), "utf8");
    // two deps may have the same text (two assets of one release): each takes the next occurrence
    const next = new Map<string, number>();
    for (const dep of packageFile.deps) {
      perManager[index] = (perManager[index] ?? 0) + 1;
      const from = next.get(dep.replaceString ?? "") ?? 0;
      const at = dep.replaceString ? text.indexOf(dep.replaceString, from) : -1;
      next.set(dep.replaceString ?? "", at + 1);
      const line = at < 0 ? 0 : text.slice(0, at).split("\n").length;
      matchedLines.add(`${packageFile.packageFile}:${line}`);
      if (!datasources.has(dep.datasource ?? "")) {
        problems.push(
          `${packageFile.packageFile}:${line}: unknown datasource "${dep.datasource}" for ${dep.depName} ` +
            `(Renovate's datasources: ${[...datasources].sort().join(", ")})`,
        );
      }
    }
  }
  managers.forEach((manager, i) => {
    if (perManager[i] === 0) {
      problems.push(
        `renovate.json: customManagers[${i}] (${manager.description ?? manager.matchStrings[0]}) matches nothing in the tree: fix its matchStrings or remove it`,
      );
    }
  });
  for (const file of trackedFiles(repo)) {
    if (ignored(file) || file.endsWith(".md") || !existsSync(join(repo, file))) continue;
    const lines = readFileSync(join(repo, file), "utf8").split("\n");
    lines.forEach((text, i) => {
      if (!text.trimStart().startsWith(ANNOTATION)) return;
      if (!matchedLines.has(`${file}:${i + 1}`)) {
        problems.push(
          `${file}:${i + 1}: no custom manager of renovate.json matches this annotation: write ` +
            "`# renovate: datasource=<datasource> depName=<name>` directly above `key: <version>`, " +
            "`image: <repository>:<tag>` or a `- https://github.com/<repo>/releases/download/<tag>/...` entry",
        );
      }
    });
  }
  return { problems, matched: matchedLines.size };
}
