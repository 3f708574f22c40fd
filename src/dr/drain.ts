/**
 * Taking a node out of service and back, through the Kubernetes API: find it, cordon it, evict its
 * pods through the Eviction API (which honours PodDisruptionBudgets, unlike a delete), wait until they
 * are gone, uncordon it. Used by `infra upgrade`; `infra dr failover` shares the node lookup and the
 * rule for which pods stay with their node.
 *
 * A cordon made by the CLI is marked with an annotation, so a later run knows the cordon is its own
 * (and uncordons it) while a cordon an operator set stays.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { InfraError } from "../errors.js";
import { KubeApiError, type KubeClient, type KubeObject, resourcePath } from "../kube/client.js";
import { type LabelSelector, selectorMatches } from "../kube/selector.js";
import { formatDuration } from "../kube/wait.js";
import type { NodeObject } from "./status.js";

/** Set on a node the CLI cordoned; the value says why (e.g. "upgrade to v1.37.1+k3s1"). */
export const CORDONED_BY_ANNOTATION = "infra-k3s.io/cordoned-by";

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: unknown }[];
    [key: string]: unknown;
  };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

export interface PodDisruptionBudget extends KubeObject {
  spec: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: {
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
  };
}

export async function requireNode(kube: KubeClient, name: string): Promise<NodeObject> {
  const node = await kube.find<NodeObject>(resourcePath("v1", "nodes", undefined, name));
  if (!node) {
    const names = (await kube.list<NodeObject>("/api/v1/nodes")).map((n) => n.metadata.name).join(", ");
    throw new InfraError("NODE_NOT_FOUND", `there is no node "${name}" in the cluster`, {
      hint: names ? `nodes: ${names}` : "the cluster has no nodes registered",
    });
  }
  return node;
}

/** Mirror (static) pods and DaemonSet pods belong to their node: they are never moved or evicted. */
export function staysWithNode(pod: KubeObject): boolean {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
  return Boolean(pod.metadata.annotations?.["kubernetes.io/config.mirror"]) || owner?.kind === "DaemonSet";
}

export function podName(pod: KubeObject): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** Cordons the node; true when this call cordoned it (false when it already was). */
export async function cordon(kube: KubeClient, node: NodeObject, reason: string): Promise<boolean> {
  if (node.spec?.unschedulable) return false;
  await kube.patch(resourcePath("v1", "nodes", undefined, node.metadata.name), {
    metadata: { annotations: { [CORDONED_BY_ANNOTATION]: reason } },
    spec: { unschedulable: true },
  });
  return true;
}

/** Uncordons the node and drops the CLI's mark. */
export async function uncordon(kube: KubeClient, name: string): Promise<void> {
  await kube.patch(resourcePath("v1", "nodes", undefined, name), {
    metadata: { annotations: { [CORDONED_BY_ANNOTATION]: null } },
    spec: { unschedulable: null },
  });
}

export function cordonedByCli(node: NodeObject): boolean {
  return node.spec?.unschedulable === true && CORDONED_BY_ANNOTATION in (node.metadata.annotations ?? {});
}

/** The pods a drain evicts: everything bound to the node except what stays with it. */
export async function podsToEvict(kube: KubeClient, node: string): Promise<Pod[]> {
  const pods = await kube.list<Pod>("/api/v1/pods", { fieldSelector: `spec.nodeName=${node}` });
  return pods.filter((p) => !staysWithNode(p));
}

export interface BudgetVerdict {
  /** namespace/name of the PodDisruptionBudget */
  budget: string;
  disruptionsAllowed: number;
  text: string;
}

/** The budgets that select the pod, with what each allows now. */
export async function budgetsFor(kube: KubeClient, pod: Pod): Promise<BudgetVerdict[]> {
  const ns = pod.metadata.namespace as string;
  const budgets = await kube.list<PodDisruptionBudget>(resourcePath("policy/v1", "poddisruptionbudgets", ns));
  return budgets
    .filter((b) => b.spec.selector && selectorMatches(b.spec.selector, pod.metadata.labels ?? {}))
    .map((b) => {
      const s = b.status ?? {};
      const rule =
        b.spec.minAvailable !== undefined
          ? `minAvailable ${b.spec.minAvailable}`
          : `maxUnavailable ${b.spec.maxUnavailable ?? "?"}`;
      return {
        budget: `${ns}/${b.metadata.name}`,
        disruptionsAllowed: s.disruptionsAllowed ?? 0,
        text: `PodDisruptionBudget ${ns}/${b.metadata.name} (${rule}; ${s.currentHealthy ?? 0} healthy of ${s.desiredHealthy ?? 0} needed, ${s.disruptionsAllowed ?? 0} disruptions allowed)`,
      };
    });
}

export interface DrainOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal | undefined;
  /** Called once per pod when its eviction is accepted. */
  onEvicted?: (pod: string) => void;
}

export interface DrainResult {
  evicted: string[];
}

/**
 * Evicts every pod of the node that does not stay with it and waits until they are gone. An eviction a
 * PodDisruptionBudget refuses (HTTP 429) is retried until the timeout; then DRAIN_BLOCKED names each
 * pod still there and what holds it.
 */
export async function drain(kube: KubeClient, node: string, options: DrainOptions): Promise<DrainResult> {
  try {
    return await evictAll(kube, node, options);
  } catch (error) {
    // A Ctrl-C cancels the request in flight with the signal's bare reason: name where it stopped.
    if (options.signal?.aborted) {
      throw new InfraError("INTERRUPTED", `interrupted while draining ${node}`, {
        kind: "interrupted",
        cause: error,
      });
    }
    throw error;
  }
}

async function evictAll(kube: KubeClient, node: string, options: DrainOptions): Promise<DrainResult> {
  const deadline = Date.now() + options.timeoutMs;
  const evicted = new Set<string>();
  const blocked = new Map<string, string>();
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    const pods = await podsToEvict(kube, node);
    if (pods.length === 0) return { evicted: [...evicted] };
    blocked.clear();
    for (const pod of pods) {
      const name = podName(pod);
      if (pod.metadata.deletionTimestamp) continue;
      try {
        await kube.create(resourcePath("v1", "pods", pod.metadata.namespace, pod.metadata.name, "eviction"), {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
        });
        if (!evicted.has(name)) options.onEvicted?.(name);
        evicted.add(name);
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) continue;
        if (error instanceof KubeApiError && error.status === 429) {
          const budgets = await budgetsFor(kube, pod);
          blocked.set(name, budgets.map((b) => b.text).join("; ") || firstSentence(error.message));
          continue;
        }
        throw error;
      }
    }
    if (Date.now() >= deadline) {
      const remaining = await podsToEvict(kube, node);
      throw drainBlocked(node, options.timeoutMs, remaining, blocked);
    }
    await sleep(Math.min(options.intervalMs ?? 2000, Math.max(0, deadline - Date.now())), undefined, {
      signal: options.signal,
    }).catch(() => undefined);
  }
}

function firstSentence(text: string): string {
  return text.replace(/^POST \S+ failed with HTTP \d+: /, "").split(". ")[0] ?? text;
}

function drainBlocked(
  node: string,
  timeoutMs: number,
  remaining: Pod[],
  blocked: Map<string, string>,
): InfraError {
  const byBudget = remaining.filter((p) => blocked.has(podName(p)));
  const terminating = remaining.filter((p) => !blocked.has(podName(p)));
  const parts: string[] = [];
  if (byBudget.length > 0) {
    parts.push(
      `${byBudget.length} pod(s) held by a disruption budget: ${byBudget.map((p) => `${podName(p)} (${blocked.get(podName(p))})`).join(", ")}`,
    );
  }
  if (terminating.length > 0) {
    parts.push(`${terminating.length} pod(s) still terminating: ${terminating.map(podName).join(", ")}`);
  }
  return new InfraError(
    "DRAIN_BLOCKED",
    `draining ${node} did not finish within ${formatDuration(timeoutMs)}: ${parts.join("; ")}`,
    {
      details: byBudget.map((p) => ({
        code: "EVICTION_REFUSED",
        message: `${podName(p)}: ${blocked.get(podName(p))}`,
      })),
      hint:
        byBudget.length > 0
          ? "scale the workload up or relax its PodDisruptionBudget so one pod may go, then run the command again (or raise --drain-timeout)"
          : "see why the pods do not stop (kubectl describe pod), then run the command again (or raise --drain-timeout)",
    },
  );
}
