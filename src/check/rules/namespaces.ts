/**
 * The namespace an object lands in: its own `metadata.namespace`, else the one the Application
 * (`destination.namespace`) or Flux Kustomization (`targetNamespace`) that deploys its folder sets.
 * Undefined when nothing in the tree says: rules that need it then stay silent instead of guessing.
 */
import { deployments, deploysFolder } from "../deploys.js";
import { get, namespaceOf, type Resource, str, type Tree } from "../resources.js";

export type NamespaceOf = (resource: Resource) => string | undefined;

function folderOf(resource: Resource): string | undefined {
  if (resource.build !== undefined) return resource.build;
  const file = resource.origin?.file;
  return file?.includes("/") ? file.slice(0, file.lastIndexOf("/")) : undefined;
}

const cache = new WeakMap<Tree, NamespaceOf>();

export function namespaceResolver(tree: Tree): NamespaceOf {
  const cached = cache.get(tree);
  if (cached) return cached;
  const targets = deployments(tree.resources, tree.repoURLs ?? []).flatMap((d) => {
    const namespace =
      str(get(d.resource.object, "spec", "destination", "namespace")) ??
      str(get(d.resource.object, "spec", "targetNamespace"));
    return namespace ? [{ deployment: d, namespace }] : [];
  });
  const resolve: NamespaceOf = (resource) => {
    const own = namespaceOf(resource.object);
    if (own) return own;
    const folder = folderOf(resource);
    if (folder === undefined) return undefined;
    // The nearest deploying folder at or above the object's folder (Flux applies recursively).
    const match = targets
      .filter(
        ({ deployment }) =>
          deploysFolder(deployment, folder) ||
          (deployment.recurse && (deployment.dir === "" || folder.startsWith(`${deployment.dir}/`))),
      )
      .sort((a, b) => b.deployment.dir.length - a.deployment.dir.length)[0];
    return match?.namespace;
  };
  cache.set(tree, resolve);
  return resolve;
}
