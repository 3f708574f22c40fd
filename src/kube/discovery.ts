/** API discovery: which resource types exist, so commands can walk "every object of a namespace". */
import type { KubeClient } from "./client.js";

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

interface ApiResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

interface ApiGroupList {
  groups: { name: string; preferredVersion?: { groupVersion: string } }[];
}

/** Every top-level resource type of the preferred version of each group (no subresources). */
export async function discoverResources(kube: KubeClient): Promise<ResourceType[]> {
  const groups = await kube.get<ApiGroupList>("/apis");
  const versions = [
    "v1",
    ...groups.groups.flatMap((g) => (g.preferredVersion ? [g.preferredVersion.groupVersion] : [])),
  ];
  const lists = await Promise.all(
    versions.map((gv) =>
      kube
        .get<ApiResourceList>(gv === "v1" ? "/api/v1" : `/apis/${gv}`)
        // an aggregated API that is down (e.g. metrics) must not break discovery
        .catch(() => ({ groupVersion: gv, resources: [] }) as ApiResourceList),
    ),
  );
  return lists.flatMap((list) =>
    list.resources
      .filter((r) => !r.name.includes("/"))
      .map((r) => ({
        apiVersion: list.groupVersion,
        kind: r.kind,
        plural: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs,
      })),
  );
}

/** Runs `work` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return results;
}
