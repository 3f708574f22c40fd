/**
 * K3s etcd snapshots in the backup bucket, read as K3s writes them (k3s-io/k3s pkg/etcd/s3/s3.go):
 * `<folder>/<name>-<node>-<unix seconds>` (`.zip` appended when compressed), the node's name also in
 * the object's user metadata `k3s-node-name`, and an optional JSON sidecar under `<folder>/.metadata/`.
 * Scheduled snapshots are named `etcd-snapshot-…`, on-demand ones `on-demand-…` or the `--name` given.
 *
 * `infra dr snapshots` lists them newest first; `infra dr restore-control-plane` and `infra upgrade`
 * use the same listing. The bucket is read directly (backup/r2.ts): it must work while the control
 * plane is down.
 */
import { age, table } from "../backup/common.js";
import { Bucket, type BucketObject, bucketAccess } from "../backup/r2.js";
import type { LoadedConfig } from "../config/load.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";

export const METADATA_DIR = ".metadata";
export const COMPRESSED_EXTENSION = ".zip";
const NODE_NAME_KEY = "k3s-node-name";

export interface EtcdSnapshot {
  name: string;
  key: string;
  size: number;
  /** The server that took it (user metadata), "" when the object does not say. */
  node: string;
  /** From the Unix time at the end of the name, else the object's last-modified time. */
  createdAt: string;
  compressed: boolean;
}

/** The folder's key prefix: "etcd" -> "etcd/", "" -> "". */
export function folderPrefix(folder: string): string {
  const trimmed = folder.replace(/^\/+|\/+$/g, "");
  return trimmed ? `${trimmed}/` : "";
}

/** A snapshot from one listed object; undefined for sidecars, empty objects and deeper keys. */
export function snapshotFromObject(
  prefix: string,
  object: BucketObject,
): Omit<EtcdSnapshot, "node"> | undefined {
  if (!object.key.startsWith(prefix) || object.size === 0) return undefined;
  const name = object.key.slice(prefix.length);
  if (!name || name.includes("/")) return undefined;
  const compressed = name.endsWith(COMPRESSED_EXTENSION);
  const base = compressed ? name.slice(0, -COMPRESSED_EXTENSION.length) : name;
  const stamp = /-(\d+)$/.exec(base)?.[1];
  const created = stamp ? new Date(Number(stamp) * 1000) : object.lastModified;
  return {
    name,
    key: object.key,
    size: object.size,
    createdAt: created && !Number.isNaN(created.getTime()) ? created.toISOString() : "",
    compressed,
  };
}

export interface SnapshotLocation {
  bucket: Bucket;
  prefix: string;
}

/** The bucket and folder of cluster.yaml's etcd snapshots; refuses when they are switched off. */
export function snapshotLocation(loaded: LoadedConfig, env: NodeJS.ProcessEnv): SnapshotLocation {
  const { config, source } = loaded;
  if (!config.backup.etcd.enabled) {
    throw new InfraError("ETCD_SNAPSHOTS_DISABLED", "etcd snapshots to the bucket are switched off", {
      kind: "config",
      location: { file: source.display, path: "backup.etcd.enabled" },
      hint: "set backup.etcd.enabled: true and run `infra configure` and `infra up`; until then snapshots stay on each server (k3s etcd-snapshot ls)",
    });
  }
  return { bucket: new Bucket(bucketAccess(config, env)), prefix: folderPrefix(config.backup.etcd.folder) };
}

/** Every snapshot in the folder, newest first. */
export async function listSnapshots(
  location: SnapshotLocation,
  signal?: AbortSignal,
): Promise<EtcdSnapshot[]> {
  const objects = await location.bucket.list(location.prefix, signal);
  const found = objects
    .map((o) => snapshotFromObject(location.prefix, o))
    .filter((s): s is Omit<EtcdSnapshot, "node"> => s !== undefined);
  const snapshots: EtcdSnapshot[] = [];
  // One HEAD per snapshot for the node name; a few at a time.
  for (let i = 0; i < found.length; i += 8) {
    const batch = found.slice(i, i + 8);
    const nodes = await Promise.all(
      batch.map((s) => location.bucket.metadata(s.key, signal).then((m) => m[NODE_NAME_KEY] ?? "")),
    );
    batch.forEach((s, j) => {
      snapshots.push({ ...s, node: nodes[j] ?? "" });
    });
  }
  return snapshots.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name));
}

/** The named snapshot, or SNAPSHOT_NOT_FOUND naming the newest ones. */
export function pickSnapshot(snapshots: readonly EtcdSnapshot[], name: string | undefined): EtcdSnapshot {
  if (name === undefined) {
    const newest = snapshots[0];
    if (!newest) {
      throw new InfraError("SNAPSHOT_NONE", "the bucket holds no etcd snapshot", {
        hint: "K3s uploads one at every scheduled snapshot (backup.etcd in cluster.yaml); check a server's `journalctl -u k3s` for upload errors",
      });
    }
    return newest;
  }
  const found = snapshots.find((s) => s.name === name);
  if (!found) {
    const newest = snapshots.slice(0, 3).map((s) => s.name);
    throw new InfraError("SNAPSHOT_NOT_FOUND", `there is no etcd snapshot "${name}" in the bucket`, {
      kind: "usage",
      location: { path: "--snapshot" },
      hint: newest.length
        ? `newest: ${newest.join(", ")} (all: infra dr snapshots)`
        : "the bucket holds no etcd snapshot (infra dr snapshots)",
    });
  }
  return found;
}

export interface SnapshotsResult {
  bucket: string;
  folder: string;
  snapshots: EtcdSnapshot[];
}

export interface SnapshotsOptions {
  config?: string | undefined;
}

export async function snapshotsCommand(
  ctx: CommandContext,
  options: SnapshotsOptions,
): Promise<Outcome<SnapshotsResult>> {
  const { loadClusterConfig } = await import("../config/load.js");
  const loaded = await loadClusterConfig(ctx, options.config);
  const location = snapshotLocation(loaded, ctx.env);
  try {
    const snapshots = await listSnapshots(location, ctx.signal);
    return outcome(
      { bucket: location.bucket.access.bucket, folder: location.prefix, snapshots },
      renderSnapshots,
    );
  } finally {
    location.bucket.close();
  }
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function renderSnapshots(r: SnapshotsResult): string {
  const where = `s3://${r.bucket}/${r.folder}`;
  if (r.snapshots.length === 0) return `No etcd snapshots in ${where}.`;
  return [
    `etcd snapshots in ${where} (newest first):`,
    table(
      ["NAME", "NODE", "SIZE", "AGE"],
      r.snapshots.map((s) => [s.name, s.node || "-", formatSize(s.size), age(s.createdAt)]),
    ),
  ].join("\n");
}
