/**
 * Velero through the Kubernetes API (group velero.io/v1, objects in the Velero namespace):
 * typed views of the CRDs the CLI reads and writes, phase semantics, and the preflight checks
 * every command runs before it changes anything. See stack-notes §7.2 for the field reference.
 */
import http from "node:http";
import https from "node:https";
import { gunzipSync } from "node:zlib";
import { InfraError } from "../errors.js";
import { isNotFound, type KubeClient, type KubeObject, resourcePath } from "../kube/client.js";
import type { LabelSelector } from "../kube/selector.js";
import { waitFor } from "../kube/wait.js";

export const VELERO_API = "velero.io/v1";
/** Label the CLI puts on everything it creates, so `backup list` can tell them apart. */
export const CREATED_BY_LABEL = "app.kubernetes.io/created-by";
export const CREATED_BY = "infra-cli";
/** Label Velero puts on the backups a schedule makes. */
export const SCHEDULE_LABEL = "velero.io/schedule-name";

export interface Backup extends KubeObject {
  spec: {
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    labelSelector?: LabelSelector;
    orLabelSelectors?: LabelSelector[];
    ttl?: string;
    storageLocation?: string;
    snapshotVolumes?: boolean | null;
    defaultVolumesToFsBackup?: boolean;
    includeClusterResources?: boolean | null;
  };
  status?: {
    phase?: string;
    version?: number;
    expiration?: string;
    queuePosition?: number;
    validationErrors?: string[];
    startTimestamp?: string;
    completionTimestamp?: string;
    warnings?: number;
    errors?: number;
    failureReason?: string;
    progress?: { totalItems?: number; itemsBackedUp?: number };
    backupItemOperationsAttempted?: number;
    backupItemOperationsCompleted?: number;
    backupItemOperationsFailed?: number;
  };
}

export interface Restore extends KubeObject {
  spec: {
    backupName?: string;
    scheduleName?: string;
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    namespaceMapping?: Record<string, string>;
    labelSelector?: LabelSelector;
    existingResourcePolicy?: string;
    restorePVs?: boolean | null;
    includeClusterResources?: boolean | null;
    preserveNodePorts?: boolean;
    resourceModifier?: { kind: string; name: string };
  };
  status?: {
    phase?: string;
    validationErrors?: string[];
    warnings?: number;
    errors?: number;
    failureReason?: string;
    startTimestamp?: string;
    completionTimestamp?: string;
    progress?: { totalItems?: number; itemsRestored?: number };
  };
}

export interface Schedule extends KubeObject {
  spec: {
    schedule: string;
    paused?: boolean;
    template?: Backup["spec"];
    useOwnerReferencesInBackup?: boolean;
  };
  status?: { phase?: string; lastBackup?: string; lastSkipped?: string; validationErrors?: string[] };
}

export interface BackupStorageLocation extends KubeObject {
  spec: {
    provider: string;
    default?: boolean;
    accessMode?: string;
    validationFrequency?: string;
    objectStorage: { bucket: string; prefix?: string };
    config?: Record<string, string>;
  };
  status?: { phase?: string; message?: string; lastValidationTime?: string; lastSyncedTime?: string };
}

export interface DeleteBackupRequest extends KubeObject {
  spec: { backupName: string };
  status?: { phase?: string; errors?: string[] };
}

export interface DownloadRequest extends KubeObject {
  spec: { target: { kind: string; name: string } };
  status?: { phase?: string; downloadURL?: string; expiration?: string };
}

/**
 * What a phase means to an operator. Velero may add phases (it added Queued and ReadyToStart in
 * 1.18); anything unknown is "unknown" — not terminal, reported as is, never treated as success.
 */
export type PhaseState =
  | "pending"
  | "running"
  | "completed"
  | "partially-failed"
  | "failed"
  | "deleting"
  | "unknown";

const BACKUP_PHASES: Record<string, PhaseState> = {
  "": "pending",
  New: "pending",
  Queued: "pending",
  ReadyToStart: "pending",
  InProgress: "running",
  WaitingForPluginOperations: "running",
  WaitingForPluginOperationsPartiallyFailed: "running",
  Finalizing: "running",
  FinalizingPartiallyFailed: "running",
  Completed: "completed",
  PartiallyFailed: "partially-failed",
  Failed: "failed",
  FailedValidation: "failed",
  Deleting: "deleting",
};

const RESTORE_PHASES: Record<string, PhaseState> = {
  "": "pending",
  New: "pending",
  InProgress: "running",
  WaitingForPluginOperations: "running",
  WaitingForPluginOperationsPartiallyFailed: "running",
  Finalizing: "running",
  FinalizingPartiallyFailed: "running",
  Completed: "completed",
  PartiallyFailed: "partially-failed",
  Failed: "failed",
  FailedValidation: "failed",
};

export function backupPhaseState(phase: string | undefined): PhaseState {
  return BACKUP_PHASES[phase ?? ""] ?? "unknown";
}

export function restorePhaseState(phase: string | undefined): PhaseState {
  return RESTORE_PHASES[phase ?? ""] ?? "unknown";
}

export function isTerminal(state: PhaseState): boolean {
  return state === "completed" || state === "partially-failed" || state === "failed";
}

/** Backups a restore may use: Completed, or PartiallyFailed (what was saved is usable). */
export function isRestorable(backup: Backup): boolean {
  const state = backupPhaseState(backup.status?.phase);
  return state === "completed" || state === "partially-failed";
}

/**
 * Namespaced types a Velero restore always skips, whatever the backup holds (Velero's restore
 * controller excludes events, its own backups, restores and repositories; the cluster-scoped
 * nodes, CSI nodes and volume attachments never sit in a namespace).
 */
const NEVER_RESTORED = new Set([
  "v1/Event",
  "events.k8s.io/v1/Event",
  `${VELERO_API}/Backup`,
  `${VELERO_API}/Restore`,
  `${VELERO_API}/ResticRepository`,
  `${VELERO_API}/BackupRepository`,
]);

/** Whether a restore brings back objects of this type ("apiVersion/Kind" as in a resource list). */
export function isRestoredByVelero(type: string): boolean {
  return !NEVER_RESTORED.has(type);
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function checkObjectName(name: string, what: string): void {
  if (!DNS_SUBDOMAIN.test(name) || name.length > 63) {
    throw new InfraError("INVALID_NAME", `${what} name "${name}" is not valid`, {
      kind: "usage",
      hint: "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
    });
  }
}

/** "20260131-235959" in UTC, for generated names. */
export function timestampSuffix(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:T]/g, "")
    .replace(/\..*$/, "")
    .replace(/^(\d{8})(\d{6})$/, "$1-$2");
}

export class Velero {
  constructor(
    readonly kube: KubeClient,
    readonly namespace: string,
  ) {}

  path(plural: string, name?: string): string {
    return resourcePath(VELERO_API, plural, this.namespace, name);
  }

  /** The API answers, Velero's CRDs are installed, its namespace exists. Reads only. */
  async preflight(): Promise<void> {
    // both reads at once: each is a round trip over the tailnet
    const namespace = this.kube.find(resourcePath("v1", "namespaces", undefined, this.namespace));
    namespace.catch(() => undefined); // reported below, after the API check
    try {
      await this.kube.get("/apis/velero.io/v1");
    } catch (error) {
      if (isNotFound(error)) {
        throw new InfraError(
          "VELERO_NOT_INSTALLED",
          `Velero is not installed: the cluster has no velero.io/v1 API`,
          {
            hint: "sync the velero application in Argo CD (kubernetes/infrastructure/velero), then retry",
          },
        );
      }
      throw error;
    }
    if (!(await namespace)) {
      throw new InfraError(
        "VELERO_NAMESPACE_MISSING",
        `the Velero namespace "${this.namespace}" does not exist`,
        {
          hint: "pass the namespace Velero runs in with --velero-namespace, or sync the velero application in Argo CD",
        },
      );
    }
  }

  async locations(): Promise<BackupStorageLocation[]> {
    return this.kube.list<BackupStorageLocation>(this.path("backupstoragelocations"));
  }

  /**
   * The named location (or the default one), which must be Available and writable when asked.
   * `ofBackup` names the backup whose location this is (a restore), for a hint that fits.
   */
  async usableLocation(
    name: string | undefined,
    needWrite: boolean,
    ofBackup?: string,
  ): Promise<BackupStorageLocation> {
    const all = await this.locations();
    const location = name
      ? all.find((l) => l.metadata.name === name)
      : (all.find((l) => l.spec.default) ?? all[0]);
    if (!location) {
      const others = all.map((l) => l.metadata.name).join(", ");
      throw new InfraError(
        "BSL_NOT_FOUND",
        ofBackup
          ? `backup ${ofBackup} is stored in location "${name}", which no longer exists`
          : name
            ? `there is no backup storage location "${name}"`
            : "Velero has no backup storage location",
        {
          hint: ofBackup
            ? `re-create location "${name}" (same bucket and prefix) in the velero application; Velero then syncs its backups back within a minute${others ? `. Backups in ${others} are listed by \`infra backup list\`` : ""}`
            : all.length
              ? `use one of: ${others}`
              : "check the velero application's backupStorageLocation values and the velero-r2 credentials Secret",
        },
      );
    }
    const phase = location.status?.phase;
    if (phase !== "Available") {
      throw new InfraError(
        "BSL_UNAVAILABLE",
        `backup storage location "${location.metadata.name}" is ${phase ?? "not validated yet"}${
          location.status?.message ? `: ${firstLine(location.status.message)}` : ""
        }`,
        {
          hint: phase
            ? "check the bucket, the R2 endpoint and the velero-r2 credentials Secret; Velero re-validates every minute"
            : "Velero validates a new location within a minute; if it stays so, check that the Velero server is running",
        },
      );
    }
    if (needWrite && location.spec.accessMode === "ReadOnly") {
      throw new InfraError(
        "BSL_READ_ONLY",
        `backup storage location "${location.metadata.name}" is ReadOnly`,
        {
          hint: "switch it to ReadWrite (e.g. after a DR restore) or use another location with --storage-location",
        },
      );
    }
    return location;
  }

  async backup(name: string): Promise<Backup> {
    const backup = await this.kube.find<Backup>(this.path("backups", name));
    if (!backup) {
      throw new InfraError(
        "BACKUP_NOT_FOUND",
        `there is no backup "${name}" in namespace ${this.namespace}`,
        {
          hint: "list the backups with `infra backup list`",
        },
      );
    }
    return backup;
  }

  async backups(): Promise<Backup[]> {
    return this.kube.list<Backup>(this.path("backups"));
  }

  async restores(): Promise<Restore[]> {
    return this.kube.list<Restore>(this.path("restores"));
  }

  async schedules(): Promise<Schedule[]> {
    return this.kube.list<Schedule>(this.path("schedules"));
  }

  async restore(name: string): Promise<Restore> {
    const restore = await this.kube.find<Restore>(this.path("restores", name));
    if (!restore) {
      throw new InfraError(
        "RESTORE_NOT_FOUND",
        `there is no restore "${name}" in namespace ${this.namespace}`,
        {
          hint: "list restores with `infra backup describe <backup>`",
        },
      );
    }
    return restore;
  }

  /**
   * Fetches a backup's or restore's file through a DownloadRequest (Velero pre-signs an object-store
   * URL), gunzipped. The request object is removed afterwards.
   */
  async download(kind: string, name: string, timeoutMs = 60_000, signal?: AbortSignal): Promise<string> {
    return this.fetchSigned(await this.presign(kind, name, timeoutMs, signal), signal);
  }

  /**
   * A pre-signed object-store URL for a backup's or restore's file, through a DownloadRequest (removed
   * at once; the URL stays valid for Velero's 10 minutes). Velero signs it whether or not the file
   * exists yet, so a command can ask early and fetch when the backup is done.
   */
  async presign(kind: string, name: string, timeoutMs = 60_000, signal?: AbortSignal): Promise<SignedUrl> {
    const request: DownloadRequest = {
      apiVersion: VELERO_API,
      kind: "DownloadRequest",
      metadata: {
        generateName: `${name.slice(0, 50)}-`,
        namespace: this.namespace,
        labels: { [CREATED_BY_LABEL]: CREATED_BY },
      },
      spec: { target: { kind, name } },
    };
    const created = await this.kube.create<DownloadRequest>(this.path("downloadrequests"), request);
    const createdName = created.metadata.name as string;
    try {
      const ready = await waitFor(
        async () => {
          const current = await this.kube.get<DownloadRequest>(this.path("downloadrequests", createdName));
          return current.status?.phase === "Processed" && current.status.downloadURL ? current : undefined;
        },
        {
          timeoutMs,
          signal,
          // Velero signs the URL within milliseconds: poll briskly, it is one small GET
          intervalMs: 100,
          what: `Velero to process the download request for ${kind} ${name}`,
          hint: "check that the Velero server is running and its backup storage location is Available (`infra backup list`)",
        },
      );
      return {
        kind,
        name,
        url: ready.status?.downloadURL as string,
        expires: Date.parse(ready.status?.expiration ?? "") || Date.now() + 300_000,
      };
    } finally {
      await this.kube.delete(this.path("downloadrequests", createdName)).catch(() => undefined);
    }
  }

  /** The file behind a pre-signed URL, gunzipped. */
  async fetchSigned(signed: SignedUrl, signal?: AbortSignal): Promise<string> {
    const { kind, name, url } = signed;
    let response: { status: number; body: Buffer };
    try {
      response = await getUrl(url, signal);
    } catch (error) {
      throw new InfraError(
        "DOWNLOAD_FAILED",
        `could not fetch ${kind} of ${name} from the object store: ${firstLine(String((error as Error).cause ?? error))}`,
        {
          hint: "this machine must reach the bucket endpoint (the BackupStorageLocation's s3Url or publicUrl)",
          cause: error,
        },
      );
    }
    if (response.status === 404) {
      throw new InfraError("DOWNLOAD_NOT_FOUND", `the object store has no ${kind} for ${name}`, {
        hint: "the backup may have failed before Velero uploaded it; see `infra backup describe`",
      });
    }
    if (response.status < 200 || response.status > 299) {
      throw new InfraError(
        "DOWNLOAD_FAILED",
        `the object store answered HTTP ${response.status} for the ${kind} of ${name}`,
        {
          hint: "check the bucket's credentials and endpoint in the BackupStorageLocation",
        },
      );
    }
    const body = response.body;
    return (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body).toString("utf8");
  }

  /** The resource list Velero stored with a backup: "apps/v1/Deployment" -> ["ns/name", ...]. */
  async resourceList(backup: string, signal?: AbortSignal): Promise<Record<string, string[]>> {
    return JSON.parse(await this.download("BackupResourceList", backup, 60_000, signal)) as Record<
      string,
      string[]
    >;
  }

  /** Every object of a backup's stored resource list (`signed`: a URL asked for earlier, if still valid). */
  async backupItems(backup: string, signal?: AbortSignal, signed?: SignedUrl): Promise<BackupItem[]> {
    const items: BackupItem[] = [];
    const list =
      signed && signed.expires > Date.now() + 10_000
        ? (JSON.parse(await this.fetchSigned(signed, signal)) as Record<string, string[]>)
        : await this.resourceList(backup, signal);
    for (const [type, refs] of Object.entries(list)) {
      for (const ref of refs) items.push({ type, ref });
    }
    return items;
  }

  /** What a finished restore did with each object: created, updated, skipped or failed. */
  async restoredItems(restore: string, signal?: AbortSignal): Promise<RestoredItem[]> {
    const list = JSON.parse(await this.download("RestoreResourceList", restore, 60_000, signal)) as Record<
      string,
      string[]
    >;
    const items: RestoredItem[] = [];
    for (const [type, entries] of Object.entries(list)) {
      for (const entry of entries) {
        const match = /^(.*)\((created|updated|skipped|failed)\)$/.exec(entry);
        items.push({
          type,
          ref: match ? (match[1] as string) : entry,
          action: match ? (match[2] as string) : "",
        });
      }
    }
    return items;
  }

  /** Velero's warnings and errors of a finished restore, by scope. */
  async restoreResults(restore: string, signal?: AbortSignal): Promise<RestoreResults> {
    const raw = JSON.parse(await this.download("RestoreResults", restore, 60_000, signal)) as Partial<
      Record<"warnings" | "errors", Partial<ResultScope>>
    >;
    const scope = (r: Partial<ResultScope> | undefined): ResultScope => ({
      velero: r?.velero ?? [],
      cluster: r?.cluster ?? [],
      namespaces: r?.namespaces ?? {},
    });
    return { warnings: scope(raw.warnings), errors: scope(raw.errors) };
  }

  /** Namespaces a backup holds objects in (from its stored resource list). */
  async backupNamespaces(backup: Backup, signal?: AbortSignal): Promise<string[]> {
    const included = backup.spec.includedNamespaces ?? [];
    if (included.length > 0 && !included.includes("*")) {
      const excluded = new Set(backup.spec.excludedNamespaces ?? []);
      return included.filter((ns) => !excluded.has(ns));
    }
    const list = await this.resourceList(backup.metadata.name as string, signal);
    const namespaces = new Set<string>();
    for (const items of Object.values(list)) {
      for (const item of items) {
        const slash = item.indexOf("/");
        if (slash > 0) namespaces.add(item.slice(0, slash));
      }
    }
    return [...namespaces].sort();
  }
}

export interface SignedUrl {
  kind: string;
  name: string;
  url: string;
  /** When the URL stops working (ms since the epoch). */
  expires: number;
}

/** One object of a backup's stored resource list: its type ("apps/v1/Deployment") and "ns/name". */
export interface BackupItem {
  type: string;
  ref: string;
}

/** One object of a restore's resource list, with what Velero did with it. */
export interface RestoredItem extends BackupItem {
  action: string;
}

export interface ResultScope {
  velero: string[];
  cluster: string[];
  namespaces: Record<string, string[]>;
}

export interface RestoreResults {
  warnings: ResultScope;
  errors: ResultScope;
}

/** "ns/name" -> [ns, name]; a cluster-scoped "name" -> ["", name]. */
export function splitRef(ref: string): [string, string] {
  const slash = ref.indexOf("/");
  return slash < 0 ? ["", ref] : [ref.slice(0, slash), ref.slice(slash + 1)];
}

/** "apps/v1/Deployment" -> ["apps/v1", "Deployment"]. */
export function splitType(type: string): [string, string] {
  const slash = type.lastIndexOf("/");
  return [type.slice(0, slash), type.slice(slash + 1)];
}

export function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() ?? text;
}

/**
 * One GET of a pre-signed object-store URL, through node:http(s) rather than fetch: fetch's pooled
 * connection kept the process alive for up to half a second after the command had finished (an idle
 * socket of the http(s) agent does not).
 */
function getUrl(url: string, signal?: AbortSignal): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const transport = url.startsWith("http:") ? http : https;
    const request = transport.get(url, signal ? { signal } : {}, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}
