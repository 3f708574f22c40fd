/**
 * Secrets the tree makes exist, whoever makes them: Secret objects (also SOPS-encrypted and KSOPS- or
 * generator-made ones), cert-manager Certificates (`secretName`), External Secrets (`target.name`),
 * Sealed Secrets and 1Password items. Rules asking "is this Secret there?" read this, not only Secrets.
 */
import { get, is, list, nameOf, type Resource, resourcesFromSources, str, type Tree } from "../resources.js";
import { kindOf } from "../source.js";
import { namespaceResolver } from "./namespaces.js";

export interface ProducedSecret {
  name: string;
  /** "*" when the namespace is not known from the tree. */
  namespace: string;
  by: Resource;
}

const ANY = "*";

function made(resource: Resource): string | undefined {
  const o = resource.object;
  if (is(resource, "Secret")) return nameOf(o);
  if (is(resource, "Certificate", "cert-manager.io")) return str(get(o, "spec", "secretName"));
  if (is(resource, "ExternalSecret", "external-secrets.io"))
    return str(get(o, "spec", "target", "name")) ?? nameOf(o);
  if (is(resource, "SealedSecret", "bitnami.com"))
    return str(get(o, "spec", "template", "metadata", "name")) ?? nameOf(o);
  if (is(resource, "OnePasswordItem", "onepassword.com")) return nameOf(o);
  return undefined;
}

export function producedSecrets(tree: Tree): ProducedSecret[] {
  const namespaceOf = namespaceResolver(tree);
  const out: ProducedSecret[] = [];
  const sops = resourcesFromSources({
    ...tree.sources,
    files: tree.sources.files
      .filter((f) => f.role === "sops")
      .map((f) => ({ ...f, role: "manifest" as const })),
  });
  for (const resource of [...tree.resources, ...sops]) {
    const name = made(resource);
    if (name) {
      const namespace = namespaceOf(resource) ?? ANY;
      out.push({ name, namespace, by: resource });
      // A secretGenerator's Secret is named with a content hash; references name it without.
      const base = /^(.+)-[a-z0-9]{10}$/.exec(name)?.[1];
      if (base && kindOf(resource.object) === "Secret") out.push({ name: base, namespace, by: resource });
    }
    if (is(resource, "ClusterExternalSecret", "external-secrets.io")) {
      const target =
        str(get(resource.object, "spec", "externalSecretSpec", "target", "name")) ??
        str(get(resource.object, "spec", "externalSecretName")) ??
        nameOf(resource.object);
      const namespaces = list(get(resource.object, "spec", "namespaces")).map(String);
      for (const namespace of namespaces.length > 0 ? namespaces : [ANY])
        out.push({ name: target, namespace, by: resource });
    }
  }
  return out;
}

/** Whether a Secret of this name exists (or will) in the namespace. */
export function secretExists(
  produced: readonly ProducedSecret[],
  name: string,
  namespace: string | undefined,
): boolean {
  return produced.some(
    (s) => s.name === name && (namespace === undefined || s.namespace === ANY || s.namespace === namespace),
  );
}
