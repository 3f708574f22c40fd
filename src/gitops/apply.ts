/**
 * Server-side apply of a list of objects through the Kubernetes API (what
 * `kubectl apply --server-side --force-conflicts` does), used by the GitOps bootstrap.
 * Namespaces and CRDs go first so that the objects that need them can be applied in one pass.
 */

import { InfraError } from "../errors.js";
import { type KubeClient, type KubeObject, resourcePath } from "../kube/client.js";
import { discoverResources, type ResourceType } from "../kube/discovery.js";

export const FIELD_MANAGER = "infra-k3s";

export interface ApplyResult {
  kind: string;
  name: string;
  namespace?: string;
  action: "applied" | "would apply";
}

const FIRST: Record<string, number> = { CustomResourceDefinition: 0, Namespace: 1 };

export function applyOrder(objects: KubeObject[]): KubeObject[] {
  const rank = (o: KubeObject) => FIRST[o.kind ?? ""] ?? 2;
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

export async function applyObjects(
  kube: KubeClient,
  objects: KubeObject[],
  options: { dryRun: boolean; onApplied?: (result: ApplyResult) => void },
): Promise<ApplyResult[]> {
  let types = await discoverResources(kube);
  const results: ApplyResult[] = [];
  // In a dry run a new namespace is not persisted, so the server cannot dry-run the objects inside
  // it (NotFound); they are reported as what would be applied instead.
  const unborn = new Set<string>();
  for (const object of applyOrder(objects)) {
    let type = findType(types, object);
    // A CRD applied earlier in this pass makes its kind known only after a new discovery.
    if (!type) {
      types = await discoverResources(kube);
      type = findType(types, object);
    }
    const name = object.metadata.name ?? "";
    if (!type) {
      throw new InfraError(
        "KIND_UNKNOWN",
        `the API server does not know ${object.apiVersion} ${object.kind} (${name})`,
        {
          hint: "install the CRD that defines it first, or check that the apiVersion is served by this Kubernetes version",
        },
      );
    }
    const namespace = type.namespaced ? (object.metadata.namespace ?? "default") : undefined;
    const result: ApplyResult = {
      kind: object.kind ?? "",
      name,
      action: options.dryRun ? "would apply" : "applied",
    };
    if (namespace) result.namespace = namespace;
    if (options.dryRun && object.kind === "Namespace" && !(await kube.find(`/api/v1/namespaces/${name}`))) {
      unborn.add(name);
    }
    if (!(namespace && unborn.has(namespace))) {
      await kube.request("PATCH", resourcePath(type.apiVersion, type.plural, namespace, name), {
        body: object,
        contentType: "application/apply-patch+yaml",
        query: { fieldManager: FIELD_MANAGER, force: true, dryRun: options.dryRun ? "All" : undefined },
      });
    }
    results.push(result);
    options.onApplied?.(result);
  }
  return results;
}

function findType(types: ResourceType[], object: KubeObject): ResourceType | undefined {
  return types.find((t) => t.apiVersion === object.apiVersion && t.kind === object.kind);
}
