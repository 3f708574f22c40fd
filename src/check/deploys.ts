/**
 * What deploys which folder of the repository: Argo CD Applications (and ApplicationSets' Git directory
 * generators) and Flux Kustomizations. The builds, the Application path rule and the orphan rules read it.
 */
import { posix } from "node:path";
import { get, is, list, type Resource, str } from "./resources.js";
import type { PathPart } from "./source.js";
import { normalizeRepoURL } from "./target.js";

export interface Deployment {
  resource: Resource;
  /** Path of the field naming the folder. */
  path: PathPart[];
  /** Repository-relative folder (a glob for ApplicationSet directory generators). */
  dir: string;
  /** The folder is applied as plain manifests, recursively (Flux without kustomization.yaml, Argo `recurse`). */
  recurse: boolean;
  /** It follows this repository (its URL, `infra-k3s.io/repo: self`, or Flux's own source). */
  self: boolean;
}

/** A repository path as written in an Application or Flux Kustomization: `./a/b/` -> `a/b`. */
export function repoPath(path: string): string {
  const clean = posix
    .normalize(path.trim())
    .replace(/^(\.\/)+/, "")
    .replace(/\/+$/, "");
  return clean === "." ? "" : clean;
}

const PLACEHOLDER = /^set-by-/;

/** Whether an Application (source) follows this repository. */
export function followsSelf(
  resource: Resource,
  repoURL: string | undefined,
  repoURLs: readonly string[],
): boolean {
  if (get(resource.object, "metadata", "labels", "infra-k3s.io/repo") === "self") return true;
  if (!repoURL) return false;
  if (PLACEHOLDER.test(repoURL)) return true;
  const wanted = normalizeRepoURL(repoURL);
  return repoURLs.some((url) => normalizeRepoURL(url) === wanted);
}

/** GitRepositories of Flux that are this repository: bootstrap's `flux-system`, or one with our URL. */
function fluxSelfSources(resources: readonly Resource[], repoURLs: readonly string[]): Set<string> {
  const out = new Set<string>(["flux-system"]);
  for (const r of resources) {
    if (!is(r, "GitRepository", "source.toolkit.fluxcd.io")) continue;
    const url = str(get(r.object, "spec", "url"));
    if (url && repoURLs.some((u) => normalizeRepoURL(u) === normalizeRepoURL(url))) {
      out.add(str(get(r.object, "metadata", "name")) ?? "");
    }
  }
  return out;
}

export function deployments(resources: readonly Resource[], repoURLs: readonly string[]): Deployment[] {
  const out: Deployment[] = [];
  const flux = fluxSelfSources(resources, repoURLs);
  for (const resource of resources) {
    if (is(resource, "Application", "argoproj.io")) {
      const sources: { source: unknown; at: PathPart[] }[] = [];
      const single = get(resource.object, "spec", "source");
      if (single !== undefined) sources.push({ source: single, at: ["spec", "source"] });
      list(get(resource.object, "spec", "sources")).forEach((source, i) => {
        sources.push({ source, at: ["spec", "sources", i] });
      });
      for (const { source, at } of sources) {
        const path = str(get(source as never, "path"));
        if (path === undefined || str(get(source as never, "chart"))) continue;
        out.push({
          resource,
          path: [...at, "path"],
          dir: repoPath(path),
          recurse: get(source as never, "directory", "recurse") === true,
          self: followsSelf(resource, str(get(source as never, "repoURL")), repoURLs),
        });
      }
    } else if (is(resource, "ApplicationSet", "argoproj.io")) {
      list(get(resource.object, "spec", "generators")).forEach((generator, i) => {
        const git = get(generator, "git");
        if (!git) return;
        const self = followsSelf(resource, str(get(git, "repoURL")), repoURLs);
        list(get(git, "directories")).forEach((directory, j) => {
          const path = str(get(directory, "path"));
          if (!path || get(directory, "exclude") === true) return;
          out.push({
            resource,
            path: ["spec", "generators", i, "git", "directories", j, "path"],
            dir: repoPath(path),
            recurse: false,
            self,
          });
        });
      });
    } else if (is(resource, "Kustomization", "kustomize.toolkit.fluxcd.io")) {
      const path = str(get(resource.object, "spec", "path")) ?? "";
      const sourceKind = str(get(resource.object, "spec", "sourceRef", "kind"));
      const sourceName = str(get(resource.object, "spec", "sourceRef", "name")) ?? "";
      out.push({
        resource,
        path: ["spec", "path"],
        dir: repoPath(path),
        recurse: true,
        self: sourceKind === "GitRepository" && flux.has(sourceName),
      });
    }
  }
  return out;
}

/** Whether a repository folder matches a deployment's folder (ApplicationSet globs: `*` is one level). */
export function deploysFolder(deployment: Deployment, folder: string): boolean {
  if (!deployment.dir.includes("*")) return deployment.dir === folder;
  const pattern = deployment.dir
    .split("/")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"))
    .join("/");
  return new RegExp(`^${pattern}$`).test(folder);
}
