import type { Finding } from "../findings.js";
import { at, get, is, list, nameOf, namespaceOf, type Resource, str } from "../resources.js";
import { isObject, kindOf, type PathPart } from "../source.js";
import type { Rule } from "./rule.js";

const SECRET_REFS = [
  ["cloudflare", "apiTokenSecretRef"],
  ["cloudflare", "apiKeySecretRef"],
  ["route53", "secretAccessKeySecretRef"],
  ["digitalocean", "tokenSecretRef"],
  ["rfc2136", "tsigSecretSecretRef"],
];

/** Secrets declared in the tree: built objects and the plaintext metadata of SOPS files. */
function secretNamespaces(tree: Parameters<Rule["check"]>[0]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (name: string, namespace: string) => out.set(name, (out.get(name) ?? new Set()).add(namespace));
  for (const r of tree.resources)
    if (is(r, "Secret")) add(nameOf(r.object), namespaceOf(r.object) ?? "default");
  for (const file of tree.sources.files) {
    if (file.role !== "sops") continue;
    for (const doc of file.docs) {
      if (kindOf(doc.object) === "Secret") add(nameOf(doc.object), namespaceOf(doc.object) ?? "default");
    }
  }
  return out;
}

export const issuerSecretNamespace: Rule = {
  id: "issuer-secret-namespace",
  title: "a ClusterIssuer's token Secret lives in cert-manager's namespace",
  reason:
    "ClusterIssuers read Secrets only from the cluster resource namespace (default: cert-manager) " +
    "(cert-manager docs, configuration/README: cluster resource namespace)",
  check(tree) {
    const findings: Finding[] = [];
    const secrets = secretNamespaces(tree);
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
          const namespaces = secrets.get(name);
          if (namespaces?.has("cert-manager")) continue;
          findings.push(
            at(resource, path, {
              rule: this.id,
              severity: namespaces ? "error" : "warning",
              message: namespaces
                ? `ClusterIssuer ${nameOf(resource.object)} uses Secret ${name}, which is in ${[...namespaces].join(", ")}, not cert-manager`
                : `ClusterIssuer ${nameOf(resource.object)} uses Secret ${name}, which is not declared in the tree`,
              fix: `declare Secret ${name} (SOPS-encrypted) in namespace cert-manager`,
            }),
          );
        }
      });
    }
    return findings;
  },
};

export type { Resource };
