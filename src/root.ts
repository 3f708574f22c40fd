/**
 * Where `infra` acts. The repository root is the nearest ancestor of the working directory that
 * holds `cluster.yaml` or `cluster.example.yaml` beside an `ansible/` folder, so `../infra plan`
 * from `ansible/` plans the root's cluster, not the example. Outside any repository, a project
 * is the nearest folder with a `cluster.yaml` (one that `infra init` started), else the working
 * directory itself. The config file is `--config`/$INFRA_CONFIG, else the root's `cluster.yaml`,
 * else the example (the root's, else the CLI's own). Light on purpose: bin.ts resolves this
 * before any command runs.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { InfraError } from "./errors.js";
import { PACKAGE_ROOT } from "./package-root.js";

export const CONFIG_FILE = "cluster.yaml";
export const EXAMPLE_FILE = "cluster.example.yaml";

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isRoot(dir: string): boolean {
  return (
    isDirectory(join(dir, "ansible")) &&
    (existsSync(join(dir, CONFIG_FILE)) || existsSync(join(dir, EXAMPLE_FILE)))
  );
}

/** The nearest ancestor of `start` (itself included) that is a repository root, if any. */
export function findRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isRoot(dir)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The nearest ancestor of `start` (itself included) holding a cluster.yaml, if any. */
function findProject(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, CONFIG_FILE)) && !isDirectory(join(dir, CONFIG_FILE))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Where infra acts for a working directory: the repository root, else a bare project, else the directory. */
export function repositoryRoot(workdir: string): string {
  return findRoot(workdir) ?? findProject(workdir) ?? resolve(workdir);
}

export interface ConfigSource {
  /** Absolute path of the file read. */
  path: string;
  /** How it was chosen: --config/$INFRA_CONFIG, the root's cluster.yaml, or the example. */
  origin: "option" | "cluster.yaml" | "example";
  /** The path as shown to the user (relative to the working directory when inside it). */
  display: string;
}

export function displayPath(workdir: string, path: string): string {
  const rel = relative(workdir, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/**
 * Picks the config file: `option` (--config or $INFRA_CONFIG, relative to the working directory),
 * else `<root>/cluster.yaml`, else `<root>/cluster.example.yaml`. What the path names (a directory,
 * a FIFO, ...) is judged when it is read (config/source-file.ts).
 */
export function resolveConfigSource(root: string, workdir: string, option: string | undefined): ConfigSource {
  if (option !== undefined) {
    const path = resolve(workdir, option);
    const where = { file: option, path: "--config" };
    if (option.trim() === "" || !existsSync(path)) {
      throw new InfraError("CONFIG_NOT_FOUND", `config file ${option || '""'} does not exist`, {
        kind: "config",
        location: where,
        hint: "check the path given to --config (or $INFRA_CONFIG), or leave it out to use the repository's cluster.yaml",
      });
    }
    return { path, origin: "option", display: displayPath(workdir, path) };
  }
  const local = join(root, CONFIG_FILE);
  if (existsSync(local)) return { path: local, origin: "cluster.yaml", display: displayPath(workdir, local) };
  const example = existsSync(join(root, EXAMPLE_FILE))
    ? join(root, EXAMPLE_FILE)
    : join(PACKAGE_ROOT, EXAMPLE_FILE);
  return { path: example, origin: "example", display: displayPath(workdir, example) };
}

/** Commands that change anything refuse the example unless `--example` says to act on it. */
export function refuseExample(source: ConfigSource, what: string): never {
  throw new InfraError(
    "CONFIG_IS_EXAMPLE",
    `${what} would act on the example cluster (${source.display}): there is no ${CONFIG_FILE} in ${dirname(source.path)}`,
    {
      kind: "config",
      hint: `create one with \`infra init\` (or copy ${EXAMPLE_FILE} to ${CONFIG_FILE} and edit it), name one with --config, or pass --example to act on the example`,
    },
  );
}
