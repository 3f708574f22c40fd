/** `infra status`: nodes, Argo CD applications and backups at a glance (each section independent). */
import { age, type ClusterOptions, openKube, table } from "../backup/common.js";
import {
  assessBackups,
  DEFAULT_MAX_BACKUP_DURATION,
  type Finding,
  renderFindings,
  type ScheduleHealth,
  scheduleLine,
} from "../backup/health.js";
import {
  type Backup,
  type BackupStorageLocation,
  backupPhaseState,
  type Schedule,
} from "../backup/velero.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { isNotFound, type KubeClient, type KubeObject, resourcePath } from "../kube/client.js";
import { durationOption } from "../kube/wait.js";
import { type Outcome, outcome } from "../outcome.js";
import { type HealthStatus, healthStatus, renderHealth } from "./health.js";

export interface StatusOptions extends ClusterOptions {
  /** A backup running longer is flagged, and a schedule may be this late (Go duration). */
  maxBackupDuration?: string | undefined;
}

export interface NodeStatus {
  name: string;
  ready: string;
  roles: string[];
  version: string;
  address: string;
  schedulable: boolean;
  taints: string[];
}

export interface AppStatus {
  name: string;
  sync: string;
  health: string;
}

export interface StatusResult {
  context: string;
  server: string;
  serverVersion: string;
  nodes: NodeStatus[];
  applications: AppStatus[] | Unavailable;
  backups:
    | {
        locations: { name: string; phase: string }[];
        latest?: { name: string; phase: string; created?: string | undefined } | undefined;
        lastCompleted?: { name: string; completed?: string | undefined } | undefined;
        schedules: ScheduleHealth[];
        failedLast24h: number;
        /** What threatens the RPO: schedules behind, backups stuck, locations not validated. */
        findings: Finding[];
      }
    | Unavailable;
  /** Certificates, etcd, flannel routes (health.ts). */
  health: HealthStatus;
}

/**
 * A section that could not be shown: not installed (a 404: fine, exit 0), or not readable
 * (403, 5xx, a timeout: `error` set, and `infra status` exits 1 naming the section).
 */
export interface Unavailable {
  unavailable: string;
  error?: { code: string; message: string };
}

function unreadable(error: InfraError): Unavailable {
  return {
    unavailable: `could not be read: ${error.message}`,
    error: { code: error.code, message: error.message },
  };
}

export interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
  status?: {
    conditions?: { type: string; status: string; reason?: string }[];
    nodeInfo?: { kubeletVersion?: string };
    addresses?: { type: string; address: string }[];
  };
}

export function nodeReady(node: NodeObject): string {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (!ready) return "Unknown";
  return ready.status === "True" ? "Ready" : ready.status === "False" ? "NotReady" : "Unknown";
}

export async function statusCommand(
  ctx: CommandContext,
  options: StatusOptions,
): Promise<Outcome<StatusResult>> {
  const maxBackupMs = durationOption(
    "--max-backup-duration",
    options.maxBackupDuration ?? DEFAULT_MAX_BACKUP_DURATION,
  );
  const kube = await openKube(ctx, options);
  const version = await kube.get<{ gitVersion?: string }>("/version");
  const nodeObjects = await kube.list<NodeObject>("/api/v1/nodes");
  const nodes = nodeObjects.map(nodeStatus);
  const [applications, backups, health] = await Promise.all([
    appStatus(kube),
    backupStatus(kube, options.veleroNamespace ?? ctx.env.VELERO_NAMESPACE ?? "velero", maxBackupMs),
    healthStatus(ctx, options, kube, nodeObjects),
  ]);
  const rpoAtRisk = !("unavailable" in backups) && backups.findings.some((f) => f.severity === "error");
  const unread = [
    ["applications", applications],
    ["backups", backups],
  ].filter(([, section]) => (section as Unavailable).error !== undefined);
  return outcome(
    {
      context: kube.context,
      server: kube.server,
      serverVersion: version.gitVersion ?? "",
      nodes,
      applications,
      backups,
      health,
    },
    render,
    rpoAtRisk || unread.length > 0 ? 1 : undefined,
  );
}

function nodeStatus(node: NodeObject): NodeStatus {
  const labels = node.metadata.labels ?? {};
  const roles = Object.keys(labels)
    .filter((l) => l.startsWith("node-role.kubernetes.io/"))
    .map((l) => l.slice("node-role.kubernetes.io/".length));
  const addresses = node.status?.addresses ?? [];
  return {
    name: node.metadata.name as string,
    ready: nodeReady(node),
    roles,
    version: node.status?.nodeInfo?.kubeletVersion ?? "",
    address: addresses.find((a) => a.type === "InternalIP")?.address ?? "",
    schedulable: node.spec?.unschedulable !== true,
    taints: (node.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`),
  };
}

async function appStatus(kube: KubeClient): Promise<StatusResult["applications"]> {
  try {
    const apps = await kube.list<
      KubeObject & { status?: { sync?: { status?: string }; health?: { status?: string } } }
    >(resourcePath("argoproj.io/v1alpha1", "applications", "argocd"));
    return apps.map((a) => ({
      name: a.metadata.name as string,
      sync: a.status?.sync?.status ?? "Unknown",
      health: a.status?.health?.status ?? "Unknown",
    }));
  } catch (error) {
    if (isNotFound(error)) return { unavailable: "Argo CD is not installed (no argoproj.io/v1alpha1 API)" };
    if (error instanceof InfraError && error.kind !== "interrupted") return unreadable(error);
    throw error;
  }
}

async function backupStatus(
  kube: KubeClient,
  ns: string,
  maxBackupMs: number,
): Promise<StatusResult["backups"]> {
  try {
    const [locations, backups, schedules] = await Promise.all([
      kube.list<BackupStorageLocation>(resourcePath("velero.io/v1", "backupstoragelocations", ns)),
      kube.list<Backup>(resourcePath("velero.io/v1", "backups", ns)),
      kube.list<Schedule>(resourcePath("velero.io/v1", "schedules", ns)),
    ]);
    const sorted = [...backups].sort((a, b) =>
      (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    );
    const latest = sorted[0];
    const completed = sorted.find((b) => backupPhaseState(b.status?.phase) === "completed");
    const dayAgo = Date.now() - 86_400_000;
    const health = assessBackups({ backups, schedules, locations, maxBackupDurationMs: maxBackupMs });
    return {
      locations: locations.map((l) => ({ name: l.metadata.name as string, phase: l.status?.phase ?? "" })),
      latest: latest
        ? {
            name: latest.metadata.name as string,
            phase: latest.status?.phase ?? "",
            created: latest.metadata.creationTimestamp,
          }
        : undefined,
      lastCompleted: completed
        ? { name: completed.metadata.name as string, completed: completed.status?.completionTimestamp }
        : undefined,
      schedules: health.schedules,
      findings: health.findings,
      failedLast24h: backups.filter(
        (b) =>
          Date.parse(b.metadata.creationTimestamp ?? "") > dayAgo &&
          ["failed", "partially-failed"].includes(backupPhaseState(b.status?.phase)),
      ).length,
    };
  } catch (error) {
    if (isNotFound(error))
      return { unavailable: `Velero is not installed (no velero.io/v1 API or no namespace ${ns})` };
    if (error instanceof InfraError && error.kind !== "interrupted") return unreadable(error);
    throw error;
  }
}

function render(r: StatusResult): string {
  const out = [`Cluster: ${r.context} (${r.server}, Kubernetes ${r.serverVersion || "?"})`, ""];
  out.push(
    r.nodes.length
      ? table(
          ["NODE", "STATUS", "ROLES", "VERSION", "ADDRESS", "TAINTS"],
          r.nodes.map((n) => [
            n.name,
            `${n.ready}${n.schedulable ? "" : ",SchedulingDisabled"}`,
            n.roles.join(",") || "-",
            n.version || "-",
            n.address || "-",
            n.taints.join(" ") || "-",
          ]),
        )
      : "No nodes registered.",
  );
  out.push("");
  if ("unavailable" in r.applications)
    out.push(
      `Applications: ${r.applications.unavailable}${r.applications.error ? ` [${r.applications.error.code}]` : ""}`,
    );
  else if (r.applications.length === 0) out.push("Applications: none");
  else
    out.push(
      table(
        ["APPLICATION", "SYNC", "HEALTH"],
        r.applications.map((a) => [a.name, a.sync, a.health]),
      ),
    );
  out.push("");
  if ("unavailable" in r.backups)
    out.push(`Backups: ${r.backups.unavailable}${r.backups.error ? ` [${r.backups.error.code}]` : ""}`);
  else {
    const b = r.backups;
    out.push(
      `Backup locations: ${b.locations.map((l) => `${l.name} ${l.phase || "(not validated)"}`).join(", ") || "none"}`,
    );
    out.push(
      `Latest backup:    ${b.latest ? `${b.latest.name} ${b.latest.phase || "New"} (${age(b.latest.created)} ago)` : "none"}`,
    );
    out.push(
      `Last completed:   ${b.lastCompleted ? `${b.lastCompleted.name} (${age(b.lastCompleted.completed)} ago)` : "none"}`,
    );
    out.push(`Failed in 24 h:   ${b.failedLast24h}`);
    for (const s of b.schedules) out.push(scheduleLine(s));
    if (b.findings.length) out.push("", "Backup problems (RPO at risk):", ...renderFindings(b.findings));
  }
  out.push("", renderHealth(r.health));
  const unread = (
    [
      ["applications", r.applications],
      ["backups", r.backups],
    ] as const
  ).filter(([, section]) => "error" in section && section.error);
  if (unread.length > 0) {
    out.push(
      "",
      `✗ could not read: ${unread.map(([name, section]) => `${name} [${(section as Unavailable).error?.code}]`).join(", ")}`,
    );
  }
  return out.join("\n");
}
