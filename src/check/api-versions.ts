/**
 * API versions Kubernetes removed (and the ones it deprecated), with the release that removed them and
 * the replacement, from the Kubernetes deprecated API migration guide (kubernetes/website
 * content/en/docs/reference/using-api/deprecation-guide.md). Judged against the Kubernetes minor of the
 * pinned K3s release. Groups renamed by an ecosystem project are listed with the project's release.
 */

export interface RemovedApi {
  apiVersion: string;
  /** Kinds of that version (undefined: every kind of it). */
  kinds?: readonly string[];
  /** Kubernetes minor that stops serving it (undefined: removed by the project named in `by`). */
  removedIn?: number;
  /** Kubernetes minor that deprecated it, for APIs still served. */
  deprecatedIn?: number;
  /** Who removed it, when not Kubernetes itself. */
  by?: string;
  /** What to use instead. */
  replacement: string;
}

const WORKLOADS = ["Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"];

export const REMOVED_APIS: readonly RemovedApi[] = [
  { apiVersion: "extensions/v1beta1", kinds: WORKLOADS, removedIn: 16, replacement: "apps/v1" },
  { apiVersion: "apps/v1beta1", removedIn: 16, replacement: "apps/v1" },
  { apiVersion: "apps/v1beta2", removedIn: 16, replacement: "apps/v1" },
  {
    apiVersion: "extensions/v1beta1",
    kinds: ["NetworkPolicy"],
    removedIn: 16,
    replacement: "networking.k8s.io/v1",
  },
  {
    apiVersion: "extensions/v1beta1",
    kinds: ["PodSecurityPolicy"],
    removedIn: 16,
    replacement: "Pod Security Admission (namespace labels)",
  },
  {
    apiVersion: "extensions/v1beta1",
    kinds: ["Ingress"],
    removedIn: 22,
    replacement: "networking.k8s.io/v1",
  },
  { apiVersion: "networking.k8s.io/v1beta1", removedIn: 22, replacement: "networking.k8s.io/v1" },
  {
    apiVersion: "admissionregistration.k8s.io/v1beta1",
    kinds: ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
    removedIn: 22,
    replacement: "admissionregistration.k8s.io/v1",
  },
  { apiVersion: "apiextensions.k8s.io/v1beta1", removedIn: 22, replacement: "apiextensions.k8s.io/v1" },
  { apiVersion: "apiregistration.k8s.io/v1beta1", removedIn: 22, replacement: "apiregistration.k8s.io/v1" },
  { apiVersion: "authentication.k8s.io/v1beta1", removedIn: 22, replacement: "authentication.k8s.io/v1" },
  { apiVersion: "authorization.k8s.io/v1beta1", removedIn: 22, replacement: "authorization.k8s.io/v1" },
  { apiVersion: "certificates.k8s.io/v1beta1", removedIn: 22, replacement: "certificates.k8s.io/v1" },
  { apiVersion: "coordination.k8s.io/v1beta1", removedIn: 22, replacement: "coordination.k8s.io/v1" },
  {
    apiVersion: "rbac.authorization.k8s.io/v1beta1",
    removedIn: 22,
    replacement: "rbac.authorization.k8s.io/v1",
  },
  { apiVersion: "scheduling.k8s.io/v1beta1", removedIn: 22, replacement: "scheduling.k8s.io/v1" },
  {
    apiVersion: "storage.k8s.io/v1beta1",
    kinds: ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
    removedIn: 22,
    replacement: "storage.k8s.io/v1",
  },
  { apiVersion: "batch/v1beta1", kinds: ["CronJob"], removedIn: 25, replacement: "batch/v1" },
  { apiVersion: "discovery.k8s.io/v1beta1", removedIn: 25, replacement: "discovery.k8s.io/v1" },
  { apiVersion: "events.k8s.io/v1beta1", removedIn: 25, replacement: "events.k8s.io/v1" },
  { apiVersion: "autoscaling/v2beta1", removedIn: 25, replacement: "autoscaling/v2" },
  { apiVersion: "policy/v1beta1", kinds: ["PodDisruptionBudget"], removedIn: 25, replacement: "policy/v1" },
  {
    apiVersion: "policy/v1beta1",
    kinds: ["PodSecurityPolicy"],
    removedIn: 25,
    replacement: "Pod Security Admission (namespace labels)",
  },
  { apiVersion: "node.k8s.io/v1beta1", removedIn: 25, replacement: "node.k8s.io/v1" },
  { apiVersion: "autoscaling/v2beta2", removedIn: 26, replacement: "autoscaling/v2" },
  {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1beta1",
    removedIn: 26,
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
  {
    apiVersion: "storage.k8s.io/v1beta1",
    kinds: ["CSIStorageCapacity"],
    removedIn: 27,
    replacement: "storage.k8s.io/v1",
  },
  {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1beta2",
    removedIn: 29,
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
  {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1beta3",
    removedIn: 32,
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
  {
    apiVersion: "v1",
    kinds: ["Endpoints"],
    deprecatedIn: 33,
    replacement: "discovery.k8s.io/v1 EndpointSlice",
  },
  {
    apiVersion: "v1",
    kinds: ["ComponentStatus"],
    deprecatedIn: 19,
    replacement: "the components' own health endpoints",
  },
  {
    apiVersion: "traefik.containo.us/v1alpha1",
    by: "Traefik v3 (the Traefik K3s bundles)",
    replacement: "traefik.io/v1alpha1",
  },
];

export interface ApiVerdict {
  entry: RemovedApi;
  /** Removed for the cluster's Kubernetes minor (an error), or only deprecated (a warning). */
  removed: boolean;
  message: string;
}

/** The verdict for an apiVersion and kind on a cluster of Kubernetes 1.`minor` (undefined: current). */
export function apiVerdict(apiVersion: string, kind: string, minor: number): ApiVerdict | undefined {
  const entry = REMOVED_APIS.find((e) => e.apiVersion === apiVersion && (!e.kinds || e.kinds.includes(kind)));
  if (!entry) return undefined;
  const id = `${apiVersion} ${kind}`;
  if (entry.by) {
    return { entry, removed: true, message: `${id} was removed by ${entry.by}: use ${entry.replacement}` };
  }
  if (entry.removedIn !== undefined && entry.removedIn <= minor) {
    return {
      entry,
      removed: true,
      message: `${id} was removed in Kubernetes 1.${entry.removedIn} (this cluster runs 1.${minor}): use ${entry.replacement}`,
    };
  }
  if (entry.removedIn !== undefined) {
    return {
      entry,
      removed: false,
      message: `${id} is deprecated and removed in Kubernetes 1.${entry.removedIn}: move to ${entry.replacement}`,
    };
  }
  return {
    entry,
    removed: false,
    message: `${id} is deprecated since Kubernetes 1.${entry.deprecatedIn ?? minor}: use ${entry.replacement}`,
  };
}
