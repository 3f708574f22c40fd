import type { Finding } from "../findings.js";
import { at, get, is, list, nameOf, str } from "../resources.js";
import { isObject, type PathPart } from "../source.js";
import type { Rule } from "./rule.js";
import { producedSecrets, secretExists } from "./secrets-produced.js";

const SECRET_REFS = [
  ["cloudflare", "apiTokenSecretRef"],
  ["cloudflare", "apiKeySecretRef"],
  ["route53", "secretAccessKeySecretRef"],
  ["digitalocean", "tokenSecretRef"],
  ["rfc2136", "tsigSecretSecretRef"],
];

export const issuerSecretNamespace: Rule = {
  id: "issuer-secret-namespace",
  title: "a ClusterIssuer's token Secret lives in cert-manager's namespace",
  reason:
    "ClusterIssuers read Secrets only from the cluster resource namespace (default: cert-manager) " +
    "(cert-manager docs, configuration/README: cluster resource namespace)",
  check(tree) {
    const findings: Finding[] = [];
    const produced = producedSecrets(tree);
    for (const resource of tree.resources) {
      if (!is(resource, "ClusterIssuer", "cert-manager.io")) continue;
      list(get(resource.object, "spec", "acme", "solvers")).forEach((solver, i) => {
        for (const [provider, refKey] of SECRET_REFS) {
          const ref = get(solver, "dns01", provider ?? "", refKey ?? "");
          if (!isObject(ref)) continue;
          const name = str(ref.name) ?? "";
          const path: PathPart[] = [
            "spec",
            "acme",
            "solvers",
            i,
            "dns01",
            provider ?? "",
            refKey ?? "",
            "name",
          ];
          if (secretExists(produced, name, "cert-manager")) continue;
          const elsewhere = produced.filter((p) => p.name === name).map((p) => p.namespace);
          const namespaces = elsewhere.length > 0 ? new Set(elsewhere) : undefined;
          findings.push(
            at(resource, path, {
              rule: this.id,
              severity: namespaces ? "error" : "warning",
              message: namespaces
                ? `ClusterIssuer ${nameOf(resource.object)} uses Secret ${name}, which is in ${[...namespaces].join(", ")}, not cert-manager`
                : `ClusterIssuer ${nameOf(resource.object)} uses Secret ${name}, which nothing in the tree makes (no Secret, SOPS file or ExternalSecret)`,
              fix: `declare Secret ${name} (SOPS-encrypted, or from an ExternalSecret) in namespace cert-manager`,
            }),
          );
        }
      });
    }
    return findings;
  },
};
