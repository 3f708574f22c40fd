/**
 * Workload hygiene warnings in the spirit of kube-linter (unset-cpu-requirements, no-readiness-probe,
 * run-as-non-root, latest-tag, dangling-service). Each is silenced for one object by listing its id in
 * the object's `infra-k3s.io/check-ignore` annotation.
 */
import type { Finding } from "../findings.js";
import { at, get, is, nameOf, type Resource, str } from "../resources.js";
import { isObject, kindOf } from "../source.js";
import { helmSources } from "./helm-values.js";
import { imagePinned } from "./pins.js";
import type { Rule } from "./rule.js";
import { containers, LONG_RUNNING, POD_SPECS, podLabels } from "./workloads.js";

const workloads = (resources: readonly Resource[]) =>
  resources.filter((r) => POD_SPECS[kindOf(r.object) ?? ""]);

function id(resource: Resource): string {
  return `${kindOf(resource.object)} ${nameOf(resource.object)}`;
}

export const workloadResources: Rule = {
  id: "workload-resources",
  title: "containers request CPU and memory (warning)",
  reason:
    "a container without requests is scheduled as if it needed nothing and is the first evicted under pressure " +
    "(kube-linter unset-cpu-requirements / unset-memory-requirements; Kubernetes docs, resource management)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of workloads(tree.resources)) {
      for (const c of containers(resource)) {
        const resources = get(c.container, "resources");
        const requests = get(resources, "requests");
        const limits = get(resources, "limits");
        if (
          (isObject(requests) && Object.keys(requests).length > 0) ||
          (isObject(limits) && Object.keys(limits).length > 0)
        )
          continue;
        findings.push(
          at(resource, c.path, {
            rule: this.id,
            severity: "warning",
            message: `${id(resource)}: container ${c.name} sets no resource requests or limits`,
            fix: "set resources.requests (cpu, memory) and a memory limit",
          }),
        );
      }
    }
    return findings;
  },
};

export const workloadProbes: Rule = {
  id: "workload-probes",
  title: "long-running containers have a readiness, liveness or startup probe (warning)",
  reason:
    "without probes a Service sends traffic to a pod that is not ready and a hung process is never restarted " +
    "(kube-linter no-readiness-probe / no-liveness-probe; Kubernetes docs, probes)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of workloads(tree.resources)) {
      if (!LONG_RUNNING.has(kindOf(resource.object) ?? "")) continue;
      for (const c of containers(resource, ["containers"])) {
        if (
          ["readinessProbe", "livenessProbe", "startupProbe"].some((p) => get(c.container, p) !== undefined)
        )
          continue;
        findings.push(
          at(resource, c.path, {
            rule: this.id,
            severity: "warning",
            message: `${id(resource)}: container ${c.name} has no readiness, liveness or startup probe`,
            fix: "add a readinessProbe (and a livenessProbe for processes that can hang)",
          }),
        );
      }
    }
    return findings;
  },
};

export const workloadRoot: Rule = {
  id: "workload-root",
  title: "containers do not run as root (warning)",
  reason:
    "a process running as UID 0 owns the container's filesystem and is one kernel bug from the node " +
    "(kube-linter run-as-non-root; Kubernetes docs, Pod Security Standards restricted profile)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of workloads(tree.resources)) {
      const pod = get(
        resource.object,
        ...(POD_SPECS[kindOf(resource.object) ?? ""] ?? []),
        "securityContext",
      );
      for (const c of containers(resource)) {
        const own = get(c.container, "securityContext");
        const user = get(own, "runAsUser") ?? get(pod, "runAsUser");
        const nonRoot = get(own, "runAsNonRoot") ?? get(pod, "runAsNonRoot");
        if (user === 0 || (nonRoot !== true && !(typeof user === "number" && user > 0))) {
          findings.push(
            at(resource, [...c.path, ...(own === undefined ? [] : ["securityContext"])], {
              rule: this.id,
              severity: "warning",
              message: `${id(resource)}: container ${c.name} ${user === 0 ? "runs as root (runAsUser: 0)" : "may run as root (no runAsNonRoot: true or non-zero runAsUser)"}`,
              fix: "set securityContext.runAsNonRoot: true and a runAsUser above 0 (pod or container level)",
            }),
          );
        }
      }
    }
    return findings;
  },
};

export const imageTag: Rule = {
  id: "image-tag",
  title: "images name a version: no `latest`, no missing tag (warning)",
  reason:
    "`latest` or no tag pulls whatever was pushed last: two nodes can run different code and a rollback " +
    "brings back nothing (kube-linter latest-tag; Kubernetes docs, images)",
  check(tree) {
    // In this project's own tree pinned-version reports unpinned images as errors.
    if (tree.house) return [];
    const findings: Finding[] = [];
    for (const resource of workloads(tree.resources)) {
      for (const c of containers(resource)) {
        const image = str(get(c.container, "image"));
        if (image === undefined || imagePinned(image)) continue;
        findings.push(
          at(resource, [...c.path, "image"], {
            rule: this.id,
            severity: "warning",
            message: `${id(resource)}: image ${image} names no version`,
            fix: "use a version tag or a digest (image:1.2.3 or image@sha256:...)",
          }),
        );
      }
    }
    return findings;
  },
};

function selects(selector: Record<string, unknown>, labels: unknown): boolean {
  return (
    isObject(labels as never) &&
    Object.entries(selector).every(([k, v]) => (labels as Record<string, unknown>)[k] === v)
  );
}

export const serviceSelector: Rule = {
  id: "service-selector",
  title: "a Service selects the pods of its app (warning)",
  reason:
    "a Service whose selector matches no pod has no endpoints: every request to it fails " +
    "(kube-linter dangling-service; Kubernetes docs, Service selectors)",
  check(tree) {
    const findings: Finding[] = [];
    for (const service of tree.resources) {
      if (!is(service, "Service") || service.build === undefined) continue;
      const selector = get(service.object, "spec", "selector");
      if (!isObject(selector) || Object.keys(selector).length === 0) continue;
      // The same app: what the same kustomization built. Pods of charts it installs are not visible.
      const app = tree.resources.filter((r) => r.build === service.build);
      const pods = workloads(app);
      if (pods.length === 0 || helmSources(app).length > 0) continue;
      if (pods.some((w) => selects(selector, podLabels(w)))) continue;
      findings.push(
        at(service, ["spec", "selector"], {
          rule: this.id,
          severity: "warning",
          message: `Service ${nameOf(service.object)} selects ${Object.entries(selector)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(", ")}, which no pod of its app (${pods.map(id).join(", ")}) carries`,
          fix: "make the selector match the pod template's labels",
        }),
      );
    }
    return findings;
  },
};
