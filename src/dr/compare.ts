/**
 * Comparing what was backed up with what was restored: the same object, minus what the API server
 * or Velero legitimately sets anew (uid, timestamps, resourceVersion, status, the cluster IP of a
 * Service, Velero's restore labels), with the source namespace name mapped to the target's.
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

const VOLATILE_LABELS = ["velero.io/backup-name", "velero.io/restore-name"];
const VOLATILE_ANNOTATIONS = [
  "deployment.kubernetes.io/revision",
  "pv.kubernetes.io/bind-completed",
  "pv.kubernetes.io/bound-by-controller",
  "volume.kubernetes.io/selected-node",
  "volume.beta.kubernetes.io/storage-provisioner",
  "volume.kubernetes.io/storage-provisioner",
];

/** The object as it should look identical after a restore. */
export function normalize(object: KubeObject, from?: string, to?: string, kind = object.kind): unknown {
  const copy = JSON.parse(JSON.stringify(object)) as KubeObject & {
    spec?: Record<string, unknown>;
    status?: unknown;
  };
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
  const text = JSON.stringify(copy);
  return JSON.parse(from && to && from !== to ? text.replaceAll(`"${from}"`, `"${to}"`) : text);
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
  /** Objects owned by a controller (ReplicaSets, Pods, ...): recreated by it, not compared. */
  skippedOwned: number;
  missing: string[];
  different: { object: string; paths: string[] }[];
}

function key(item: InventoryItem): string {
  return `${item.apiVersion}/${item.kind}/${item.name}`;
}

function ownedByController(object: KubeObject): boolean {
  return (object.metadata.ownerReferences ?? []).some((o) => o.controller === true);
}

export function compareNamespaces(
  source: InventoryItem[],
  target: InventoryItem[],
  sourceNamespace: string,
  targetNamespace: string,
): Comparison {
  const restored = new Map(target.map((item) => [key(item), item]));
  const result: Comparison = { compared: 0, matched: 0, skippedOwned: 0, missing: [], different: [] };
  for (const item of source) {
    if (ownedByController(item.object)) {
      result.skippedOwned++;
      continue;
    }
    result.compared++;
    const other = restored.get(key(item));
    const label = `${item.kind}/${item.name}`;
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
  }
  return result;
}
