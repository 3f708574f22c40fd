/**
 * `infra dr failover NODE [--to NODE]`: take a failed node out of service and move its workloads.
 *
 * 1. cordon it and add the `node.kubernetes.io/out-of-service=nodeshutdown:NoExecute` taint (Kubernetes'
 *    non-graceful node shutdown: volumes are detached and pods are not expected back);
 * 2. force-delete its pods (the kubelet is gone, so graceful deletion would wait forever); their
 *    controllers (ReplicaSet, StatefulSet, Job) re-create them elsewhere, DaemonSet pods stay with the node,
 *    bare pods are re-created by us (on --to, if given);
 * 3. workloads whose data lived on the node (local / local-path volumes pinned to it) are restored from the
 *    latest backup holding their namespace: the StatefulSet is scaled to 0, the stale claims are deleted,
 *    Velero restores claims and pods (with their Kopia file-system backups), the StatefulSet is scaled back.
 */
import { type ClusterOptions, confirm, openKube } from "../backup/common.js";
import { waitForRestore } from "../backup/progress.js";
import { restoreNameFor } from "../backup/restore.js";
import {
  CREATED_BY,
  CREATED_BY_LABEL,
  type Restore,
  restorePhaseState,
  VELERO_API,
  Velero,
} from "../backup/velero.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type KubeClient, type KubeObject, resourcePath } from "../kube/client.js";
import { durationOption } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { requireNode, staysWithNode } from "./drain.js";
import { latestBackupWith } from "./restore-workload.js";
import { type NodeObject, nodeReady } from "./status.js";

export const OUT_OF_SERVICE_TAINT = {
  key: "node.kubernetes.io/out-of-service",
  value: "nodeshutdown",
  effect: "NoExecute",
};

export interface FailoverOptions extends ClusterOptions {
  node: string;
  to?: string | undefined;
  dryRun?: boolean | undefined;
  yes?: boolean | undefined;
  timeout?: string | undefined;
}

export type PodAction = "rescheduled-by-controller" | "recreated" | "stays-with-node" | "restore-from-backup";

export interface PodMove {
  namespace: string;
  name: string;
  owner: string;
  action: PodAction;
  detail: string;
}

export interface DataRestore {
  namespace: string;
  claims: string[];
  statefulSets: { name: string; replicas: number }[];
  backup?: string | undefined;
  restore?: string | undefined;
  phase?: string | undefined;
}

export interface FailoverResult {
  node: string;
  to?: string | undefined;
  dryRun: boolean;
  cordoned: boolean;
  tainted: boolean;
  pods: PodMove[];
  dataRestores: DataRestore[];
  problems: string[];
}

interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
    [key: string]: unknown;
  };
}

interface PersistentVolume extends KubeObject {
  spec: {
    local?: { path: string };
    hostPath?: { path: string };
    nodeAffinity?: {
      required?: {
        nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[];
      };
    };
  };
}

export async function failoverCommand(
  ctx: CommandContext,
  options: FailoverOptions,
): Promise<Outcome<FailoverResult>> {
  const timeoutMs = durationOption("--timeout", options.timeout ?? "30m");
  const kube = await openKube(ctx, options);
  const node = await requireNode(kube, options.node);
  if (nodeReady(node) === "Ready") {
    throw new InfraError(
      "NODE_READY",
      `node ${options.node} is Ready; failover is for a node that has failed`,
      {
        hint: "to move workloads off a healthy node, drain it (`kubectl drain`) or remove it with `infra node remove`",
      },
    );
  }
  if (options.to) {
    const target = await requireNode(kube, options.to);
    if (nodeReady(target) !== "Ready" || target.spec?.unschedulable) {
      throw new InfraError("TARGET_NOT_READY", `target node ${options.to} is not Ready and schedulable`, {
        hint: "pick a Ready node from `infra status`, or leave --to out to let the scheduler choose",
      });
    }
  }
  const pods = await kube.list<Pod>("/api/v1/pods", { fieldSelector: `spec.nodeName=${options.node}` });
  const { moves, restores } = await plan(kube, options.node, pods, options.to);
  const result: FailoverResult = {
    node: options.node,
    to: options.to,
    dryRun: options.dryRun === true,
    cordoned: node.spec?.unschedulable === true,
    tainted: hasOutOfServiceTaint(node),
    pods: moves,
    dataRestores: restores,
    problems: [],
  };
  if (options.dryRun) return outcome(result, render);
  await confirm(
    ctx,
    `Fail over node ${options.node}: cordon it, force-delete its ${pods.length} pods${restores.length ? `, restore data of ${restores.length} namespace(s) from backups` : ""}?`,
    options.yes,
  );

  ctx.reporter.phase(`Take node ${options.node} out of service`);
  const taints = [
    ...(node.spec?.taints ?? []).filter((t) => t.key !== OUT_OF_SERVICE_TAINT.key),
    OUT_OF_SERVICE_TAINT,
  ];
  await kube.patch(resourcePath("v1", "nodes", undefined, options.node), {
    spec: { unschedulable: true, taints },
  });
  result.cordoned = true;
  result.tainted = true;

  const veleroNs = options.veleroNamespace ?? ctx.env.VELERO_NAMESPACE ?? "velero";
  const velero = restores.length ? new Velero(kube, veleroNs) : undefined;
  if (velero) await velero.preflight();
  for (const restore of restores) await scaleStatefulSets(kube, restore, 0);

  ctx.reporter.phase(`Move the pods of ${options.node}`);
  for (const move of moves) {
    if (move.action === "stays-with-node") continue;
    const pod = pods.find(
      (p) => p.metadata.namespace === move.namespace && p.metadata.name === move.name,
    ) as Pod;
    await kube
      .delete(resourcePath("v1", "pods", move.namespace, move.name), { gracePeriodSeconds: 0 })
      .catch(ignoreMissing);
    ctx.reporter.step(`${move.namespace}/${move.name}`, move.detail);
    if (move.action === "recreated") await recreate(kube, pod, options.to);
  }

  for (const restore of restores) {
    ctx.reporter.phase(`Restore the data of namespace ${restore.namespace}`);
    try {
      await restoreData(ctx, kube, velero as Velero, restore, timeoutMs);
    } catch (error) {
      if (error instanceof InfraError && error.kind === "interrupted") throw error;
      result.problems.push(`${restore.namespace}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await scaleStatefulSets(kube, restore, undefined).catch((error: unknown) =>
        result.problems.push(`${restore.namespace}: scaling back failed: ${String(error)}`),
      );
    }
  }
  return outcome(result, render, result.problems.length ? 1 : undefined);
}

function hasOutOfServiceTaint(node: NodeObject): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === OUT_OF_SERVICE_TAINT.key);
}

function ignoreMissing(error: unknown): void {
  if (error instanceof InfraError && error.code === "KUBE_NOT_FOUND") return;
  throw error;
}

/** What happens to each pod, and which namespaces need their data restored. */
export async function plan(
  kube: KubeClient,
  nodeName: string,
  pods: Pod[],
  to?: string,
): Promise<{ moves: PodMove[]; restores: DataRestore[] }> {
  const moves: PodMove[] = [];
  const restores = new Map<string, DataRestore>();
  for (const pod of pods) {
    const ns = pod.metadata.namespace as string;
    const name = pod.metadata.name as string;
    const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
    const ownerText = owner ? `${owner.kind}/${owner.name}` : "-";
    const pinnedClaims = await claimsPinnedTo(kube, ns, pod, nodeName);
    if (staysWithNode(pod)) {
      moves.push({
        namespace: ns,
        name,
        owner: ownerText,
        action: "stays-with-node",
        detail: "runs on every node; returns with it",
      });
    } else if (pinnedClaims.length > 0) {
      const entry = restores.get(ns) ?? { namespace: ns, claims: [], statefulSets: [] };
      entry.claims.push(...pinnedClaims.filter((c) => !entry.claims.includes(c)));
      if (owner?.kind === "StatefulSet" && !entry.statefulSets.some((s) => s.name === owner.name)) {
        const sts = await kube.find<KubeObject & { spec?: { replicas?: number } }>(
          resourcePath("apps/v1", "statefulsets", ns, owner.name),
        );
        entry.statefulSets.push({ name: owner.name, replicas: sts?.spec?.replicas ?? 1 });
      }
      restores.set(ns, entry);
      moves.push({
        namespace: ns,
        name,
        owner: ownerText,
        action: "restore-from-backup",
        detail: `its volume data (${pinnedClaims.join(", ")}) was on the failed node: restored from the latest backup`,
      });
    } else if (owner) {
      moves.push({
        namespace: ns,
        name,
        owner: ownerText,
        action: "rescheduled-by-controller",
        detail: `re-created by ${ownerText}`,
      });
    } else {
      moves.push({
        namespace: ns,
        name,
        owner: "-",
        action: "recreated",
        detail: to ? `bare pod: re-created on ${to}` : "bare pod: re-created for the scheduler to place",
      });
    }
  }
  return { moves, restores: [...restores.values()] };
}

/** Claims of the pod whose volumes are pinned (node affinity) to the failed node. */
async function claimsPinnedTo(kube: KubeClient, ns: string, pod: Pod, nodeName: string): Promise<string[]> {
  const out: string[] = [];
  for (const volume of pod.spec.volumes ?? []) {
    const claim = volume.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const pvc = await kube.find<KubeObject & { spec?: { volumeName?: string } }>(
      resourcePath("v1", "persistentvolumeclaims", ns, claim),
    );
    const pvName = pvc?.spec?.volumeName;
    if (!pvName) continue;
    const pv = await kube.find<PersistentVolume>(resourcePath("v1", "persistentvolumes", undefined, pvName));
    const terms = pv?.spec.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    const pinned = terms.some((t) =>
      (t.matchExpressions ?? []).some(
        (e) =>
          e.key === "kubernetes.io/hostname" && e.operator === "In" && (e.values ?? []).includes(nodeName),
      ),
    );
    if (pinned) out.push(claim);
  }
  return out;
}

async function recreate(kube: KubeClient, pod: Pod, to: string | undefined): Promise<void> {
  // the API server assigns priority from priorityClassName again; nodeName is what moves
  const { nodeName: _old, priority: _priority, ...spec } = pod.spec;
  const copy = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      labels: pod.metadata.labels,
      annotations: pod.metadata.annotations,
    },
    spec: to ? { ...spec, nodeName: to } : spec,
  };
  await kube.create(resourcePath("v1", "pods", pod.metadata.namespace), copy);
}

/** replicas undefined = scale back to the recorded size. */
async function scaleStatefulSets(
  kube: KubeClient,
  restore: DataRestore,
  replicas: number | undefined,
): Promise<void> {
  for (const sts of restore.statefulSets) {
    await kube.patch(resourcePath("apps/v1", "statefulsets", restore.namespace, sts.name), {
      spec: { replicas: replicas ?? sts.replicas },
    });
  }
}

async function restoreData(
  ctx: CommandContext,
  kube: KubeClient,
  velero: Velero,
  restore: DataRestore,
  timeoutMs: number,
): Promise<void> {
  const { backup } = await latestBackupWith(velero, restore.namespace, undefined, ctx.signal);
  restore.backup = backup.metadata.name as string;
  for (const claim of restore.claims) {
    await kube
      .delete(resourcePath("v1", "persistentvolumeclaims", restore.namespace, claim))
      .catch(ignoreMissing);
  }
  const name = restoreNameFor(`failover-${restore.namespace}`);
  const object: Restore = {
    apiVersion: VELERO_API,
    kind: "Restore",
    metadata: { name, namespace: velero.namespace, labels: { [CREATED_BY_LABEL]: CREATED_BY } },
    spec: {
      backupName: restore.backup,
      includedNamespaces: [restore.namespace],
      includedResources: ["persistentvolumeclaims", "pods"],
      existingResourcePolicy: "none",
      restorePVs: true,
    },
  };
  await kube.create(velero.path("restores"), object);
  restore.restore = name;
  const final = await waitForRestore(ctx, velero, name, timeoutMs);
  restore.phase = final.status?.phase ?? "";
  if (restorePhaseState(restore.phase) !== "completed") {
    throw new InfraError("RESTORE_FAILED", `restore ${name} ended ${restore.phase}`, {
      hint: `see infra backup logs ${name} --restore`,
    });
  }
}

function render(r: FailoverResult): string {
  const head = r.dryRun
    ? `Dry run: failover of node ${r.node} would:`
    : `${r.problems.length ? "✗" : "✓"} Node ${r.node} is out of service (cordoned, ${OUT_OF_SERVICE_TAINT.key} taint).`;
  const lines = [head];
  if (r.dryRun)
    lines.push(
      `  cordon ${r.node} and taint it ${OUT_OF_SERVICE_TAINT.key}=${OUT_OF_SERVICE_TAINT.value}:NoExecute`,
    );
  if (r.pods.length === 0) lines.push("  no pods were on the node");
  for (const p of r.pods) lines.push(`  ${p.namespace}/${p.name} (${p.owner}): ${p.detail}`);
  for (const d of r.dataRestores) {
    lines.push(
      `  data of ${d.namespace} (${d.claims.join(", ")}): ${d.restore ? `restore ${d.restore} from ${d.backup}: ${d.phase}` : "restored from the latest backup holding it"}`,
    );
  }
  for (const p of r.problems) lines.push(`  problem: ${p}`);
  return lines.join("\n");
}
