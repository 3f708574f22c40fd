import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { exec } from "../adapters/exec.js";
import type { CommandContext } from "../context.js";
import { type Outcome, outcome } from "../outcome.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { pinnedVersion } from "./install.js";
import { installedPins, toolBinDir, toolPath } from "./paths.js";
import { loadVersions, type PinnedTool, type ToolGroup, type Versions } from "./versions.js";

export interface ToolReport {
  name: string;
  kind: PinnedTool["kind"];
  /** Prerequisites belong to the user group: nothing installs without them. */
  group: ToolGroup;
  pinned: string;
  status: "found" | "missing";
  path?: string;
  version?: string;
  fix?: string;
}

export interface GroupReport {
  complete: boolean;
  missing: string[];
}

export interface DoctorResult {
  /** The user group is complete (and, with --tests, the tests group too): exit 0. */
  ok: boolean;
  groups: Record<ToolGroup, GroupReport>;
  prerequisites: ToolReport[];
  tools: ToolReport[];
}

export interface DoctorOptions {
  /** Exit 1 unless the tests group is complete as well. */
  tests: boolean;
}

/** Programs the installer itself needs; they are not installed by it. */
const PREREQUISITES: { name: string; args: string[]; fix: string }[] = [
  { name: "node", args: ["--version"], fix: "install Node.js 20 or newer" },
  { name: "go", args: ["version"], fix: "install Go 1.24 or newer (go.dev/dl or your package manager)" },
  { name: "git", args: ["--version"], fix: "install git" },
];

export async function doctorCommand(
  ctx: CommandContext,
  options: DoctorOptions = { tests: false },
): Promise<Outcome<DoctorResult>> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const env = { ...ctx.env, PATH: toolPath(ctx.env, versions) };
  const prerequisites = await Promise.all(
    PREREQUISITES.map(async (p) => {
      const version = await firstLine(p.name, p.args, env);
      const report: ToolReport = {
        name: p.name,
        kind: "apt",
        group: "user",
        pinned: "-",
        status: version ? "found" : "missing",
      };
      if (version) report.version = version;
      else report.fix = p.fix;
      return report;
    }),
  );
  const tools = await Promise.all(versions.tools.map((tool) => inspect(tool, versions, env)));
  const group = (name: ToolGroup): GroupReport => {
    const missing = [...prerequisites, ...tools]
      .filter((t) => t.group === name && t.status === "missing")
      .map((t) => t.name);
    return { complete: missing.length === 0, missing };
  };
  const groups = { user: group("user"), tests: group("tests") };
  const ok = groups.user.complete && (!options.tests || groups.tests.complete);
  return outcome({ ok, groups, prerequisites, tools }, renderDoctor, ok ? 0 : 1);
}

async function inspect(tool: PinnedTool, versions: Versions, env: NodeJS.ProcessEnv): Promise<ToolReport> {
  const dir = toolBinDir(env, versions, tool);
  // a library (an Ansible plugin) is checked by importing it with the virtualenv's Python
  const library = tool.kind === "pip" ? tool.module : undefined;
  const bin = library ? "python" : (tool.bins[0] ?? tool.name);
  const path = dir ? join(dir, bin) : which(bin, env.PATH ?? "");
  const versionArgs = library
    ? ["-c", `import ${library}, importlib.metadata as m; print("${tool.name}", m.version("${tool.name}"))`]
    : tool.versionArgs;
  const report: ToolReport = {
    name: tool.name,
    kind: tool.kind,
    group: tool.group,
    pinned: pinnedVersion(tool),
    status: "missing",
  };
  const complete =
    dir === undefined ||
    (tool.kind === "pip"
      ? (await installedPins(join(dir, ".."))).includes(`${tool.name}==${report.pinned}`)
      : existsSync(join(dir, "..", ".complete")));
  if (path && existsSync(path) && complete) {
    const version = await firstLine(path, versionArgs, env, tool.kind === "go" ? tool.version : undefined);
    if (version !== undefined) {
      report.status = "found";
      report.path = path;
      report.version =
        version || `${report.pinned} (the pin it was built from; the binary prints no version)`;
      return report;
    }
  }
  report.fix = `./infra tools install ${tool.name}`;
  return report;
}

function which(bin: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/**
 * Runs a tool's version command. Undefined when it does not run; otherwise the first line of its
 * output that carries a version number (colours stripped), or "" when it prints none (a Go binary
 * built from a module often says only "(devel)").
 */
async function firstLine(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  pin?: string,
): Promise<string | undefined> {
  const result = await exec(command, args, { env, check: false, timeoutMs: 20_000 }).catch(() => undefined);
  if (result?.exitCode !== 0) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colour codes
  const lines = `${result.stdout}\n${result.stderr}`.replace(/\u001b\[[0-9;]*m/g, "").split("\n");
  // A Go tool's line must name its own pin: other numbers there are Go's version or a path.
  if (pin) return lines.find((l) => l.includes(pin.replace(/^v/, "")) && !l.includes(command))?.trim() ?? "";
  return lines.find((l) => /\d+\.\d+/.test(l) && !/^warning/i.test(l.trim()))?.trim() ?? "";
}

function renderDoctor(result: DoctorResult): string {
  const rows = [...result.prerequisites, ...result.tools];
  const width = Math.max(...rows.map((r) => r.name.length));
  const line = (r: ToolReport) =>
    r.status === "found"
      ? `✓ ${r.name.padEnd(width)}  ${r.version ?? ""}`
      : `✗ ${r.name.padEnd(width)}  missing (pinned ${r.pinned}) — fix: ${r.fix}`;
  const { user, tests } = result.groups;
  const summary = [
    user.complete
      ? "user tools: complete — everything operating a cluster needs is installed"
      : `user tools: missing ${user.missing.join(", ")} — \`./infra tools install\` installs them`,
    tests.complete
      ? "test tools: complete"
      : `test tools: missing ${tests.missing.join(", ")} — \`./infra tools install --tests\` installs them (only the test tiers need them)`,
  ];
  return [
    "prerequisites:",
    ...result.prerequisites.map(line),
    "",
    "user tools (operating a cluster):",
    ...result.tools.filter((t) => t.group === "user").map(line),
    "",
    "test tools (the test tiers only):",
    ...result.tools.filter((t) => t.group === "tests").map(line),
    "",
    ...summary,
  ].join("\n");
}
