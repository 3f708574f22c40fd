/**
 * What `infra check` checks and against what: the folder (kubernetes/ of this repository, or any folder
 * given with --path), the repository it belongs to (paths in findings are relative to that repository's
 * root, Argo CD paths resolve there), and the facts of cluster.yaml that rules compare with.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { exec } from "../adapters/exec.js";
import { K3S_DEFAULT_VERSION, parseK3sVersion } from "../config/k3s-version.js";
import { resolveConfigSource } from "../config/load.js";
import { loadYaml } from "../config/yaml-data.js";
import { InfraError } from "../errors.js";
import { toPosix } from "./source.js";

export interface ClusterFacts {
  /** cluster.yaml's `domain`: every route and certificate hostname lies in it. */
  domain: string;
  /** cluster.yaml's `gitops.repoURL`: Applications following it are this repository. */
  repoURL: string | undefined;
  /** The file the facts came from (as shown to the user). */
  source: string;
}

export interface CheckTarget {
  /** Root of the repository the folder belongs to (absolute); findings are relative to it. */
  root: string;
  /** The folder checked, relative to `root` ("" when it is the root). */
  dir: string;
  /** This project's own GitOps tree: its house rules apply (Renovate annotations, cluster values). */
  house: boolean;
  /** Facts of cluster.yaml (only for this project's own tree). */
  cluster: ClusterFacts | undefined;
  /** Clone URLs of this repository (cluster.yaml's and the Git remote's). */
  repoURLs: string[];
  /** The Kubernetes minor version of the pinned K3s release (API removals are judged against it). */
  kubernetesMinor: number;
  kubernetesVersion: string;
}

async function gitOutput(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const result = await exec("git", args, { cwd, check: false, timeoutMs: 10_000 });
    return result.exitCode === 0 ? result.stdout.trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** cluster.yaml read leniently: only the fields the rules need (its validation is `infra configure`'s). */
function readFacts(cwd: string, config: string | undefined): { facts?: ClusterFacts; k3sVersion?: string } {
  try {
    const source = resolveConfigSource(cwd, cwd, config);
    const read = loadYaml(readFileSync(source.path, "utf8"));
    const doc = (read.ok ? read.value : undefined) as Record<string, unknown> | undefined;
    const domain = typeof doc?.domain === "string" ? doc.domain.toLowerCase().replace(/\.$/, "") : undefined;
    const gitops = doc?.gitops as Record<string, unknown> | undefined;
    const k3s = doc?.k3s as Record<string, unknown> | undefined;
    return {
      ...(domain
        ? {
            facts: {
              domain,
              repoURL: typeof gitops?.repoURL === "string" ? gitops.repoURL : undefined,
              source: source.display,
            },
          }
        : {}),
      ...(typeof k3s?.version === "string" ? { k3sVersion: k3s.version } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * A comparable form of a Git URL: host and path, lower case, without scheme, user, `.git` or a trailing
 * slash, so `git@github.com:o/r.git` and `https://github.com/o/r` are the same repository.
 */
export function normalizeRepoURL(url: string): string {
  let text = url.trim().toLowerCase();
  const scp = /^[^@/]+@([^:/]+):(.+)$/.exec(text);
  if (scp) text = `${scp[1]}/${scp[2]}`;
  text = text.replace(/^[a-z+]+:\/\//, "").replace(/^[^@/]+@/, "");
  return text
    .replace(/\/+$/, "")
    .replace(/\.git$/, "")
    .replace(/:\d+\//, "/");
}

export async function resolveTarget(options: {
  cwd: string;
  path: string | undefined;
  config: string | undefined;
}): Promise<CheckTarget> {
  const own = resolve(options.cwd, "kubernetes");
  const folder = options.path === undefined ? own : resolve(options.cwd, options.path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    const shown = options.path ?? "kubernetes";
    throw new InfraError("CHECK_NO_TREE", `no folder ${shown} to check`, {
      kind: "usage",
      location: { file: shown },
      hint:
        options.path === undefined
          ? "run `infra check` from the repository root, or name a folder with --path DIR"
          : "give --path an existing folder of manifests or kustomizations",
    });
  }
  // This project's own tree: kubernetes/ of a repository with cluster.yaml (or the example) at its root.
  const house =
    folder === own &&
    (existsSync(join(options.cwd, "cluster.yaml")) || existsSync(join(options.cwd, "cluster.example.yaml")));
  const real = realpathSync(folder);
  // This project's tree needs no Git: its root is the working directory, its URL is in cluster.yaml.
  const [gitTop, remote] = house
    ? [undefined, undefined]
    : await Promise.all([
        gitOutput(folder, ["rev-parse", "--show-toplevel"]),
        gitOutput(folder, ["remote", "get-url", "origin"]),
      ]);
  const top = gitTop ? realpathSync(gitTop) : undefined;
  const cwd = realpathSync(options.cwd);
  // Outside Git: this repository's root when the folder is inside it, else the folder itself.
  const inside = (dir: string) => {
    const rel = relative(dir, real);
    return !rel.startsWith("..") && !isAbsolute(rel);
  };
  const root = top && inside(top) ? top : inside(cwd) ? cwd : real;
  const { facts, k3sVersion } = readFacts(options.cwd, options.config);
  const repoURLs = [...(house && facts?.repoURL ? [facts.repoURL] : []), ...(remote ? [remote] : [])];
  const version = parseK3sVersion(k3sVersion ?? "") ?? parseK3sVersion(K3S_DEFAULT_VERSION);
  return {
    root,
    dir: toPosix(relative(root, real)),
    house,
    cluster: house ? facts : undefined,
    repoURLs,
    kubernetesMinor: version?.minor ?? 0,
    kubernetesVersion: `${version?.major ?? 1}.${version?.minor ?? 0}`,
  };
}
