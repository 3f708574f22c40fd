import { apiVerdict } from "../api-versions.js";
import type { Finding } from "../findings.js";
import { at, nameOf } from "../resources.js";
import { kindOf } from "../source.js";
import type { Rule } from "./rule.js";

export const apiRemoved: Rule = {
  id: "api-removed",
  title: "no API version the pinned Kubernetes (K3s) removed, and a warning for deprecated ones",
  reason:
    "the API server rejects objects of a removed version, and Argo CD or Flux then fails the whole sync " +
    "(Kubernetes docs, deprecated API migration guide: kubernetes/website deprecation-guide.md)",
  check(tree) {
    const minor = tree.kubernetesMinor ?? 0;
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      const verdict = apiVerdict(
        String(resource.object.apiVersion ?? ""),
        kindOf(resource.object) ?? "",
        minor,
      );
      if (!verdict) continue;
      findings.push(
        at(resource, ["apiVersion"], {
          rule: this.id,
          severity: verdict.removed ? "error" : "warning",
          message: `${kindOf(resource.object)} ${nameOf(resource.object)}: ${verdict.message}`,
          fix: `change apiVersion to ${verdict.entry.replacement} (and the fields that version renamed)`,
        }),
      );
    }
    return findings;
  },
};
