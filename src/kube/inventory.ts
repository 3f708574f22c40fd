/**
 * The objects of a namespace, across every listable resource type: to tell whether a namespace
 * is empty before a restore, and to compare two namespaces object by object in a DR drill.
 */
import { isNotFound, type KubeClient, type KubeList, type KubeObject, resourcePath } from "./client.js";
import { discoverResources, mapLimit, type ResourceType } from "./discovery.js";

/**
 * Types whose objects the cluster makes by itself (events, endpoints of Services, leases) or that
 * are views rather than stored objects: they say nothing about what a user put in the namespace.
 */
const GENERATED_TYPES = new Set([
  "v1/Event",
  "events.k8s.io/v1/Event",
  "v1/Endpoints",
  "discovery.k8s.io/v1/EndpointSlice",
  "coordination.k8s.io/v1/Lease",
  "authorization.k8s.io/v1/LocalSubjectAccessReview",
  "v1/Binding",
  "metrics.k8s.io/v1beta1/PodMetrics",
]);

/** Whether the cluster makes objects of this type ("apiVersion/Kind") by itself. */
export function isGeneratedType(type: string): boolean {
  return GENERATED_TYPES.has(type);
}

/** Objects Kubernetes creates in every namespace. */
export function isDefaultObject(apiVersion: string, kind: string, name: string): boolean {
  return (
    (apiVersion === "v1" && kind === "ConfigMap" && name === "kube-root-ca.crt") ||
    (apiVersion === "v1" && kind === "ServiceAccount" && name === "default")
  );
}

export async function namespacedTypes(kube: KubeClient): Promise<ResourceType[]> {
  const all = await discoverResources(kube);
  return all.filter(
    (r) => r.namespaced && r.verbs.includes("list") && !isGeneratedType(`${r.apiVersion}/${r.kind}`),
  );
}

export interface InventoryItem {
  apiVersion: string;
  kind: string;
  plural: string;
  name: string;
  object: KubeObject;
}

/** Every user object of the namespace (defaults and generated types left out). */
export async function namespaceInventory(
  kube: KubeClient,
  namespace: string,
  types?: ResourceType[],
  options: { firstOnly?: boolean; includeDefaults?: boolean } = {},
): Promise<InventoryItem[]> {
  const resourceTypes = types ?? (await namespacedTypes(kube));
  const perType = await mapLimit(resourceTypes, 8, async (type) => {
    try {
      const path = resourcePath(type.apiVersion, type.plural, namespace);
      const items = options.firstOnly
        ? ((await kube.get<KubeList<KubeObject>>(path, { limit: 3 })).items ?? [])
        : await kube.list<KubeObject>(path);
      return items
        .filter(
          (o) =>
            options.includeDefaults || !isDefaultObject(type.apiVersion, type.kind, o.metadata.name ?? ""),
        )
        .map((object) => ({
          apiVersion: type.apiVersion,
          kind: type.kind,
          plural: type.plural,
          name: object.metadata.name as string,
          object,
        }));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  });
  return perType.flat();
}
