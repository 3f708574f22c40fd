/**
 * Comparing what was backed up with what was restored, object by object and of every type a
 * restore brings back — Endpoints, EndpointSlices, Leases and ServiceAccounts included — minus what
 * the API server or Velero legitimately sets anew (uid, timestamps, resourceVersion, status, the
 * cluster IP of a Service, Velero's restore labels), with the source namespace name mapped to the
 * target's. What differs on purpose (ownerReferences Velero drops, node ports a scratch copy cannot
 * keep) is named as expected; what is not compared is named with the reason.
 */
import type { KubeObject } from "../kube/client.js";
import type { InventoryItem } from "../kube/inventory.js";

const VOLATILE_METADATA = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "generation",
  "managedFields",
  "selfLink",
  "namespace",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "ownerReferences",
];

const VOLATILE_LABELS = ["velero.io/backup-name", "velero.io/restore-name", "kubernetes.io/metadata.name"];
const VOLATILE_ANNOTATIONS = [
  "deployment.kubernetes.io/revision",
  "pv.kubernetes.io/bind-completed",
  "pv.kubernetes.io/bound-by-controller",
  "volume.kubernetes.io/selected-node",
  "volume.beta.kubernetes.io/storage-provisioner",
  "volume.kubernetes.io/storage-provisioner",
  "endpoints.kubernetes.io/last-change-trigger-time",
];

/** Label the endpoint-slice controllers put on the slices they own. */
const SLICE_MANAGER = "endpointslice.kubernetes.io/managed-by";

type Mutable = KubeObject & { spec?: Record<string, unknown>; status?: unknown };

/** The object as it should look identical after a restore. */
export function normalize(object: KubeObject, from?: string, to?: string, kind = object.kind): unknown {
  const copy = JSON.parse(JSON.stringify(object)) as Mutable;
  delete copy.status;
  for (const key of VOLATILE_METADATA) delete copy.metadata[key];
  for (const key of VOLATILE_LABELS) delete copy.metadata.labels?.[key];
  for (const key of VOLATILE_ANNOTATIONS) delete copy.metadata.annotations?.[key];
  if (copy.metadata.labels && Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0)
    delete copy.metadata.annotations;
  // items of a list carry no kind of their own: the caller names it
  if (kind === "Service" && copy.spec) {
    // Velero drops the allocated cluster IPs (and node ports) so the API server assigns new ones
    delete copy.spec.clusterIP;
    delete copy.spec.clusterIPs;
    delete copy.spec.healthCheckNodePort;
    for (const port of (copy.spec.ports as Record<string, unknown>[] | undefined) ?? []) delete port.nodePort;
  }
  if (kind === "PersistentVolumeClaim" && copy.spec) delete copy.spec.volumeName;
  if (kind === "Lease" && copy.spec) {
    // a live holder renews its lease every few seconds; the copy keeps the backed-up times
    delete copy.spec.renewTime;
    delete copy.spec.acquireTime;
    delete copy.spec.leaseTransitions;
  }
  // an endpoint's reference to its pod carries the pod's uid, which a restored pod does not keep
  if (kind === "Endpoints" || kind === "EndpointSlice") dropTargetRefIds(copy);
  const text = JSON.stringify(copy);
  return JSON.parse(from && to && from !== to ? text.replaceAll(`"${from}"`, `"${to}"`) : text);
}

function dropTargetRefIds(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  for (const [k, v] of Object.entries(value)) {
    if (k === "targetRef" && typeof v === "object" && v !== null) {
      delete (v as Record<string, unknown>).uid;
      delete (v as Record<string, unknown>).resourceVersion;
    } else dropTargetRefIds(v);
  }
}

/** Paths at which two JSON values differ (at most `limit`). */
export function diffPaths(a: unknown, b: unknown, limit = 5, path = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (!isObject(a) || !isObject(b) || Array.isArray(a) !== Array.isArray(b)) return [path || "."];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: string[] = [];
  for (const key of keys) {
    if (out.length >= limit) break;
    const child = Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`;
    out.push(...diffPaths(a[key], b[key], limit - out.length, child));
  }
  return out;
}

export interface Comparison {
  compared: number;
  matched: number;
  missing: string[];
  different: { object: string; paths: string[] }[];
  /** Differences that are expected, each named with why ("ownerReferences dropped by Velero"). */
  expected: { object: string; what: string }[];
  /** Objects left out of the comparison, each with why. */
  notCompared: { object: string; why: string }[];
}

function key(item: InventoryItem): string {
  return `${item.apiVersion}/${item.kind}/${item.name}`;
}

type OwnerRef = NonNullable<KubeObject["metadata"]["ownerReferences"]>[number];

function owners(object: KubeObject): OwnerRef[] {
  return object.metadata.ownerReferences ?? [];
}

/** Why an object is not compared, or undefined when it is. */
function notComparedBecause(item: InventoryItem, selectorServices: Set<string>): string | undefined {
  if (owners(item.object).some((o) => o.controller === true))
    return "owned by a controller, which re-creates or re-adopts them (Velero drops ownerReferences)";
  if (item.kind === "ConfigMap" && item.apiVersion === "v1" && item.name === "kube-root-ca.crt")
    return "made by the cluster in every namespace (kube-root-ca.crt)";
  if (item.kind === "Endpoints" && item.apiVersion === "v1" && selectorServices.has(item.name))
    return "Endpoints of Services with a selector, kept by the endpoints controller";
  const manager = item.object.metadata.labels?.[SLICE_MANAGER] ?? "";
  if (item.kind === "EndpointSlice" && /endpointslice(mirroring)?-controller\.k8s\.io$/.test(manager))
    return "EndpointSlices kept by the endpoint-slice controllers";
  return undefined;
}

function hasNodePorts(object: KubeObject): boolean {
  const spec = (object as Mutable).spec ?? {};
  const ports = (spec.ports as { nodePort?: number }[] | undefined) ?? [];
  return ports.some((p) => p.nodePort) || Boolean(spec.healthCheckNodePort);
}

export function compareNamespaces(
  source: InventoryItem[],
  target: InventoryItem[],
  sourceNamespace: string,
  targetNamespace: string,
  options: { nodePortsReassigned?: boolean } = {},
): Comparison {
  const restored = new Map(target.map((item) => [key(item), item]));
  const selectorServices = new Set(
    source
      .filter(
        (i) =>
          i.kind === "Service" && Object.keys(((i.object as Mutable).spec?.selector as object) ?? {}).length,
      )
      .map((i) => i.name),
  );
  const result: Comparison = {
    compared: 0,
    matched: 0,
    missing: [],
    different: [],
    expected: [],
    notCompared: [],
  };
  for (const item of source) {
    const label = `${item.kind}/${item.name}`;
    const why = notComparedBecause(item, selectorServices);
    if (why) {
      result.notCompared.push({ object: label, why });
      continue;
    }
    result.compared++;
    const other = restored.get(key(item));
    if (!other) {
      result.missing.push(label);
      continue;
    }
    const paths = diffPaths(
      normalize(item.object, sourceNamespace, targetNamespace, item.kind),
      normalize(other.object, sourceNamespace, targetNamespace, other.kind),
    );
    if (paths.length) result.different.push({ object: label, paths });
    else result.matched++;
    const kept = new Set(owners(other.object).map((o) => `${o.kind}/${o.name}`));
    const dropped = owners(item.object).filter((o) => !kept.has(`${o.kind}/${o.name}`));
    if (dropped.length) {
      result.expected.push({
        object: label,
        what: `ownerReferences to ${dropped.map((o) => `${o.kind}/${o.name}`).join(", ")} dropped (Velero drops them on restore; re-add them or let the owner's controller adopt it)`,
      });
    }
    if (options.nodePortsReassigned && item.kind === "Service" && hasNodePorts(item.object)) {
      result.expected.push({
        object: label,
        what: "node ports re-assigned in the scratch copy (a node port is unique in a cluster; a restore into an empty cluster keeps them)",
      });
    }
  }
  return result;
}
