/**
 * Where a restore writes: each target namespace, whether it exists, is being deleted or already
 * holds objects — shown to the operator before anything is created, and the rules that refuse an
 * unsafe target. Velero skips objects that exist, so restoring into a namespace that holds objects
 * silently mixes old and new state.
 */
import { InfraError } from "../errors.js";
import { type KubeClient, type KubeObject, resourcePath } from "../kube/client.js";
import { namespaceInventory } from "../kube/inventory.js";

/** Namespaces every cluster has and fills itself; a whole-cluster restore keeps what they hold. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isNamespaceName(name: string): boolean {
  return NAMESPACE_NAME.test(name);
}

export interface TargetState {
  /** Namespace in the backup. */
  source: string;
  /** Namespace written to (after --namespace-mapping). */
  target: string;
  exists: boolean;
  terminating: boolean;
  /** Up to three objects it holds ("Kind/name"); empty when it holds none. */
  sample: string[];
}

export async function inspectTargets(
  kube: KubeClient,
  pairs: { source: string; target: string }[],
): Promise<TargetState[]> {
  return Promise.all(
    pairs.map(async ({ source, target }) => {
      const ns = await kube.find<KubeObject & { status?: { phase?: string } }>(
        resourcePath("v1", "namespaces", undefined, target),
      );
      if (!ns) return { source, target, exists: false, terminating: false, sample: [] };
      const found = await namespaceInventory(kube, target, undefined, { firstOnly: true });
      return {
        source,
        target,
        exists: true,
        terminating: ns.status?.phase === "Terminating",
        sample: found.slice(0, 3).map((i) => `${i.kind}/${i.name}`),
      };
    }),
  );
}

export function describeTarget(t: TargetState): string {
  const into = t.source === t.target ? t.target : `${t.source} -> ${t.target}`;
  if (!t.exists) return `${into}: does not exist (Velero creates it)`;
  if (t.terminating) return `${into}: exists, being deleted`;
  if (t.sample.length === 0) return `${into}: exists, empty`;
  return `${into}: exists, NOT empty (${t.sample.join(", ")}${t.sample.length >= 3 ? ", ..." : ""})`;
}

/**
 * Refuses targets being deleted, and non-empty ones unless allowed. `keepSystem`: a whole-cluster
 * restore, where the system namespaces are never empty and what they hold is kept.
 */
export function refuseUnsafeTargets(
  states: TargetState[],
  options: { allowNonEmpty: boolean; keepSystem: boolean; veleroNamespace: string },
): void {
  for (const t of states) {
    if (t.terminating) {
      throw new InfraError("NAMESPACE_TERMINATING", `namespace ${t.target} is being deleted`, {
        hint: `wait until it is gone (\`kubectl get namespace ${t.target}\`) and retry, or restore elsewhere with --namespace-mapping`,
      });
    }
  }
  if (options.allowNonEmpty) return;
  const busy = states.filter(
    (t) => t.sample.length > 0 && !(options.keepSystem && SYSTEM_NAMESPACES.includes(t.target)),
  );
  const first = busy[0];
  if (!first) return;
  const names = busy.map((t) => t.target);
  const onlyClusterOwned = names.every((n) => SYSTEM_NAMESPACES.includes(n) || n === options.veleroNamespace);
  throw new InfraError(
    "RESTORE_TARGET_NOT_EMPTY",
    `namespace${busy.length > 1 ? "s" : ""} ${names.join(", ")} already hold${busy.length > 1 ? "" : "s"} objects (${first.target}: ${first.sample.join(", ")}${first.sample.length >= 3 ? ", ..." : ""})`,
    {
      hint: onlyClusterOwned
        ? `every cluster fills ${names.join(", ")} itself: to restore a whole cluster use --whole-cluster (it keeps what those hold and leaves out ${options.veleroNamespace}); to restore apps name them with --namespace`
        : `restore next to it with --namespace-mapping ${first.source}:${first.target}-restored, or pass --allow-non-empty (existing objects are kept unless --existing-resource-policy update)`,
    },
  );
}
