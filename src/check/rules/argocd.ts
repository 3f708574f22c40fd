import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Finding } from "../findings.js";
import { at, get, is, str } from "../resources.js";
import { isObject, type Json } from "../source.js";
import { applicationSources, helmSources } from "./helm-values.js";
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
  title: "an Application of this repository points at an existing folder",
  reason:
    "Argo CD reports `app path does not exist` only after the commit is pushed and synced (argo-cd docs)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      if (get(resource.object, "metadata", "labels", "infra-k3s.io/repo") !== "self") continue;
      for (const { source, path } of applicationSources(resource)) {
        const dir = str(get(source, "path"));
        if (!dir) continue;
        let exists = existsSync(join(tree.root, dir));
        if (exists) exists = readdirSync(join(tree.root, dir)).length > 0;
        if (exists) continue;
        findings.push(
          at(resource, [...path, "path"], {
            rule: this.id,
            message: `Application ${String(get(resource.object, "metadata", "name"))} points at ${dir}, which does not exist`,
            fix: "fix spec.source.path (relative to the repository root), or create the folder",
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
    const argo = helmSources(tree.resources).filter(
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
