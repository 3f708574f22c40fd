import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { deployments, followsSelf } from "../deploys.js";
import type { Finding } from "../findings.js";
import { at, get, is, nameOf, str } from "../resources.js";
import { isObject, type Json } from "../source.js";
import { applicationSources, helmSources } from "./helm-values.js";
import { isTemplate } from "./orphans.js";
import type { Rule } from "./rule.js";

function generatorsIn(tree: Parameters<Rule["check"]>[0], dir: string): boolean {
  return (
    tree.sources.files.some(
      (f) =>
        f.role === "generator" && f.file.startsWith(`${dir}/`) && !f.file.slice(dir.length + 1).includes("/"),
    ) &&
    tree.sources.files.some(
      (f) => f.role === "kustomization" && f.file.startsWith(`${dir}/`) && f.text.includes("generators"),
    )
  );
}

export const ksopsHelmApp: Rule = {
  id: "ksops-helm-app",
  title: "KSOPS generators only work in Kustomize-type Applications",
  reason:
    "Argo CD runs KSOPS as a kustomize exec function; a Helm-type (or plugin) source never runs it, so the " +
    "Secrets are silently missing (viaduct-ai/kustomize-sops README, Argo CD integration)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      for (const { source, path } of applicationSources(resource)) {
        const dir = str(get(source, "path"))?.replace(/\/+$/, "");
        if (!dir || !generatorsIn(tree, dir)) continue;
        const helm = get(source, "helm") !== undefined || existsSync(join(tree.root, dir, "Chart.yaml"));
        const plugin = get(source, "plugin") !== undefined;
        if (!helm && !plugin) continue;
        findings.push(
          at(resource, [...path, helm ? "helm" : "plugin"], {
            rule: this.id,
            message: `Application source ${dir} has KSOPS generators but is a ${helm ? "Helm" : "plugin"} source: they never run`,
            fix: "make it a Kustomize source (drop helm:/plugin:), or move the Secrets into a separate Kustomize-type Application",
          }),
        );
      }
    }
    return findings;
  },
};

export const argocdAppPath: Rule = {
  id: "argocd-app-path",
  title: "an Application (or Flux Kustomization) of this repository points at an existing folder",
  reason:
    "Argo CD reports `app path does not exist` (Flux: `kustomization path not found`) only after the commit is " +
    "pushed and synced (argo-cd docs, Application spec; Flux docs, Kustomization path)",
  check(tree) {
    const findings: Finding[] = [];
    for (const deployment of deployments(tree.resources, tree.repoURLs ?? [])) {
      if (!deployment.self || deployment.dir.includes("*")) continue;
      if (isTemplate(deployment.resource.origin?.file ?? "")) continue;
      const full = join(tree.root, deployment.dir);
      if (existsSync(full) && statSync(full).isDirectory() && readdirSync(full).length > 0) continue;
      const kind = String(deployment.resource.object.kind);
      findings.push(
        at(deployment.resource, deployment.path, {
          rule: this.id,
          message: `${kind} ${nameOf(deployment.resource.object)} points at ${deployment.dir || "."}, which ${existsSync(full) ? "is empty or not a folder" : "does not exist"} in this repository`,
          fix: "fix the path (relative to the repository root), or create the folder",
        }),
      );
    }
    return findings;
  },
};

/** A Git revision that cannot move: a commit SHA, or a tag carrying a version number. */
export function pinnedRevision(revision: string | undefined): boolean {
  if (!revision) return false;
  if (/^[0-9a-f]{7,40}$/i.test(revision)) return true;
  return (
    /\d+\.\d+/.test(revision) &&
    !/[*x^~><=|]/.test(revision.replace(/^v/, "").replace(/-[0-9A-Za-z.-]+$/, ""))
  );
}

/** An exact chart version (no `*`, range or missing version). */
export function pinnedChartVersion(version: string | undefined): boolean {
  return version !== undefined && /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/.test(version.trim());
}

export const remoteSourcePinned: Rule = {
  id: "remote-source-pinned",
  title: "sources from other repositories are pinned: no HEAD, no branch, no `*` or range chart version",
  reason:
    "an Application or Flux source following another repository's branch or newest chart changes the cluster " +
    "without a commit here (argo-cd docs, tracking strategies; Flux docs, GitRepository ref and HelmRelease version)",
  check(tree) {
    const findings: Finding[] = [];
    const self = deployments(tree.resources, tree.repoURLs ?? []).filter((d) => d.self);
    for (const resource of tree.resources) {
      for (const { source, path } of applicationSources(resource)) {
        const name = nameOf(resource.object);
        const chart = str(get(source, "chart"));
        const revision = str(get(source, "targetRevision"));
        const at_ = [...path, "targetRevision"];
        if (chart) {
          // This project's own tree: pinned-version says it, with the Renovate annotation it wants.
          if (tree.house || pinnedChartVersion(revision)) continue;
          findings.push(
            at(resource, at_, {
              rule: this.id,
              message: `Application ${name}: chart ${chart} is not pinned (targetRevision: ${JSON.stringify(revision ?? null)})`,
              fix: "set targetRevision to an exact chart version",
            }),
          );
          continue;
        }
        if (followsSelf(resource, str(get(source, "repoURL")), tree.repoURLs ?? [])) continue;
        if (pinnedRevision(revision)) continue;
        findings.push(
          at(resource, at_, {
            rule: this.id,
            message: `Application ${name} follows ${str(get(source, "repoURL")) ?? "another repository"} at ${!revision || revision === "HEAD" ? "HEAD" : `branch ${revision}`}`,
            fix: "set targetRevision to a release tag or a commit SHA",
          }),
        );
      }
      if (is(resource, "GitRepository", "source.toolkit.fluxcd.io")) {
        if (
          self.some(
            (d) => str(get(d.resource.object, "spec", "sourceRef", "name")) === nameOf(resource.object),
          )
        )
          continue;
        const ref = get(resource.object, "spec", "ref");
        const pinned = ["tag", "semver", "commit", "name"].some((k) => str(get(ref, k)) !== undefined);
        if (pinned || nameOf(resource.object) === "flux-system") continue;
        findings.push(
          at(resource, ["spec", "ref"], {
            rule: this.id,
            message: `GitRepository ${nameOf(resource.object)} follows ${str(get(ref, "branch")) ? `branch ${str(get(ref, "branch"))}` : "the default branch"} of ${str(get(resource.object, "spec", "url")) ?? "a repository"}`,
            fix: "set spec.ref.tag (or semver, or commit) instead of a branch",
          }),
        );
      }
      if (is(resource, "HelmRelease", "helm.toolkit.fluxcd.io")) {
        const spec = get(resource.object, "spec", "chart", "spec");
        if (spec === undefined) continue;
        const version = str(get(spec, "version"));
        if (pinnedChartVersion(version)) continue;
        findings.push(
          at(resource, ["spec", "chart", "spec", version === undefined ? "chart" : "version"], {
            rule: this.id,
            message: `HelmRelease ${nameOf(resource.object)}: chart ${str(get(spec, "chart")) ?? ""} is not pinned (version: ${JSON.stringify(version ?? null)})`,
            fix: "set spec.chart.spec.version to an exact chart version",
          }),
        );
      }
    }
    return findings;
  },
};

const HEALTH_KEY = "resource.customizations.health.argoproj.io_Application";

export const argocdApplicationHealth: Rule = {
  id: "argocd-application-health",
  title: "sync waves across child Applications need the Application health check",
  reason:
    "Argo CD removed the built-in health of argoproj.io/Application in 1.8; without the Lua check in argocd-cm " +
    "a parent app does not wait for a child's wave (argo-cd docs, operator-manual/health.md)",
  check(tree) {
    const argo = helmSources(tree.resources, tree).filter(
      (s) => s.chart === "argo-cd" && is(s.resource, "Application"),
    );
    const cm = tree.resources.find(
      (r) => is(r, "ConfigMap") && get(r.object, "metadata", "name") === "argocd-cm",
    );
    if (argo.length === 0 && !cm) return [];
    const waves = tree.resources.some(
      (r) =>
        is(r, "Application", "argoproj.io") &&
        get(r.object, "metadata", "annotations", "argocd.argoproj.io/sync-wave") !== undefined,
    );
    if (!waves) return [];
    const has = (value: Json | undefined) =>
      isObject(value) && typeof value[HEALTH_KEY] === "string" && value[HEALTH_KEY] !== "";
    if (cm && has(get(cm.object, "data"))) return [];
    if (argo.some((s) => !s.complete)) return [];
    if (argo.some((s) => has(get(s.values, "configs", "cm")))) return [];
    const target = argo[0]?.resource ?? cm;
    if (!target) return [];
    return [
      at(target, argo[0] ? [...argo[0].valuesPath] : ["data"], {
        rule: this.id,
        message: "Applications use sync waves but argocd-cm has no health check for argoproj.io/Application",
        fix: `add ${HEALTH_KEY} (the Lua check of docs/gitops.md) to configs.cm`,
      }),
    ];
  },
};
