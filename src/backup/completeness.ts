/**
 * Does a backup hold what it should? Velero lists the API's types from a discovery cache it
 * refreshes only every 5 minutes (and at start), so a backup taken soon after a CRD is installed
 * silently holds none of its objects and still ends "Completed". This compares the backup's stored
 * resource list with the types that have live objects in its scope — objects that existed before
 * the backup started, matching its label selector and not opted out — and names every type with
 * live objects the backup lacks.
 */
import { isNotFound, type KubeClient, type KubeList, type KubeObject, resourcePath } from "../kube/client.js";
import { discoverResources, mapLimit, type ResourceType } from "../kube/discovery.js";
import { transient } from "../kube/retry.js";
import { formatSelector } from "../kube/selector.js";
import {
  type Backup,
  type BackupItem,
  firstLine,
  type SignedUrl,
  splitRef,
  splitType,
  type Velero,
} from "./velero.js";

/** Objects with this label are left out of every backup (Velero's own opt-out). */
const EXCLUDE_LABEL = "velero.io/exclude-from-backup";
const PAGE = 250;

/** What a backup covers, in the terms the live scan needs. */
export interface BackupScope {
  /** Namespaces named in the backup, or undefined for every namespace. */
  namespaces?: string[] | undefined;
  excludedNamespaces: string[];
  /** Label selectors, any of which an object must match ("" matches all). */
  selectors: string[];
  includedResources: string[];
  excludedResources: string[];
  /** Only objects created before this instant (ms) count: later ones may rightly be absent. */
  before: number;
}

export interface LiveType {
  /** "apiVersion/Kind" as the API serves it now. */
  type: string;
  /** One object of the type in scope, "namespace/name". */
  example: string;
}

export interface LiveScan {
  present: LiveType[];
  /** Types whose objects could not be listed (forbidden, a broken conversion webhook, ...). */
  unreadable: { type: string; reason: string }[];
  checkedTypes: number;
}

export interface Completeness {
  complete: boolean;
  missing: LiveType[];
  unreadable: { type: string; reason: string }[];
  checkedTypes: number;
}

export function scopeOf(backup: Backup, before?: number): BackupScope {
  const spec = backup.spec;
  const included = spec.includedNamespaces ?? [];
  const or = spec.orLabelSelectors ?? [];
  const selectors = or.length ? or.map((s) => formatSelector(s)) : [formatSelector(spec.labelSelector)];
  return {
    namespaces: included.length === 0 || included.includes("*") ? undefined : included,
    excludedNamespaces: spec.excludedNamespaces ?? [],
    selectors,
    includedResources: spec.includedResources ?? [],
    excludedResources: spec.excludedResources ?? [],
    before:
      before ??
      (Date.parse(backup.status?.startTimestamp ?? "") ||
        Date.parse(backup.metadata.creationTimestamp ?? "")),
  };
}

/** "apps/v1" -> "apps", "v1" -> "" */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Velero's own state, views and events are no application data to miss. */
function checked(type: ResourceType): boolean {
  const group = groupOf(type.apiVersion);
  return (
    type.namespaced &&
    type.verbs.includes("list") &&
    type.kind !== "Event" &&
    group !== "velero.io" &&
    group !== "metrics.k8s.io"
  );
}

/** A backup's includedResources/excludedResources entry ("deployments", "deployments.apps", "*"). */
function resourceMatches(entry: string, type: ResourceType): boolean {
  const e = entry.toLowerCase();
  const group = groupOf(type.apiVersion);
  return (
    e === "*" ||
    e === type.plural ||
    e === type.kind.toLowerCase() ||
    (group !== "" && e === `${type.plural}.${group}`)
  );
}

function inResourceScope(scope: BackupScope, type: ResourceType): boolean {
  if (scope.excludedResources.some((e) => resourceMatches(e, type))) return false;
  return (
    scope.includedResources.length === 0 || scope.includedResources.some((e) => resourceMatches(e, type))
  );
}

/** The first object of a type in scope, if any: pages through until one qualifies. */
async function firstInScope(
  kube: KubeClient,
  type: ResourceType,
  scope: BackupScope,
  selector: string,
): Promise<string | undefined> {
  const labelSelector = [selector, `${EXCLUDE_LABEL}!=true`].filter(Boolean).join(",");
  const excluded = new Set(scope.excludedNamespaces);
  for (const namespace of scope.namespaces ?? [undefined]) {
    let token: string | undefined;
    do {
      const page: KubeList<KubeObject> = await kube.get(
        resourcePath(type.apiVersion, type.plural, namespace),
        {
          labelSelector,
          limit: PAGE,
          continue: token,
        },
      );
      for (const o of page.items ?? []) {
        const ns = o.metadata.namespace ?? "";
        if (excluded.has(ns)) continue;
        if (o.metadata.deletionTimestamp) continue; // Velero skips objects being deleted
        if ((Date.parse(o.metadata.creationTimestamp ?? "") || Number.POSITIVE_INFINITY) >= scope.before)
          continue;
        return `${ns}/${o.metadata.name}`;
      }
      token = page.metadata?.continue || undefined;
    } while (token);
  }
  return undefined;
}

/** Which types have live objects in the backup's scope. Starts well before the backup ends. */
export async function scanLive(kube: KubeClient, scope: BackupScope): Promise<LiveScan> {
  const types = (await discoverResources(kube)).filter((t) => checked(t) && inResourceScope(scope, t));
  const present: LiveType[] = [];
  const unreadable: LiveScan["unreadable"] = [];
  await mapLimit(types, 8, async (type) => {
    const name = `${type.apiVersion}/${type.kind}`;
    try {
      for (const selector of scope.selectors) {
        const example = await firstInScope(kube, type, scope, selector);
        if (example) {
          present.push({ type: name, example });
          return;
        }
      }
    } catch (error) {
      if (isNotFound(error)) return; // the type went away meanwhile
      unreadable.push({
        type: name,
        reason: firstLine(error instanceof Error ? error.message : String(error)),
      });
    }
  });
  present.sort((a, b) => a.type.localeCompare(b.type));
  unreadable.sort((a, b) => a.type.localeCompare(b.type));
  return { present, unreadable, checkedTypes: types.length };
}

/** Compares by group and kind: Velero stores each group's preferred version, which may change. */
export function compareWithBackup(scan: LiveScan, items: BackupItem[]): Completeness {
  const held = new Set(
    items
      .filter((i) => splitRef(i.ref)[0] !== "")
      .map((i) => {
        const [apiVersion, kind] = splitType(i.type);
        return `${groupOf(apiVersion)}/${kind}`;
      }),
  );
  const missing = scan.present.filter((live) => {
    const [apiVersion, kind] = splitType(live.type);
    return !held.has(`${groupOf(apiVersion)}/${kind}`);
  });
  return {
    complete: missing.length === 0,
    missing,
    unreadable: scan.unreadable,
    checkedTypes: scan.checkedTypes,
  };
}

/** The whole check for a finished backup; pass `scan` when it was started earlier. */
export async function checkCompleteness(
  velero: Velero,
  backup: Backup,
  signal?: AbortSignal,
  early?: { scan: Promise<LiveScan>; resourceList: Promise<SignedUrl | undefined> },
): Promise<Completeness> {
  const scan = () => scanLive(velero.kube, scopeOf(backup));
  const [live, items] = await Promise.all([
    // an early scan that met an API outage (which the wait outlived) is done again now
    early
      ? early.scan.catch((error: unknown) => (transient(error) ? scan() : Promise.reject(error)))
      : scan(),
    (early?.resourceList ?? Promise.resolve(undefined)).then((signed) =>
      velero.backupItems(backup.metadata.name as string, signal, signed),
    ),
  ]);
  return compareWithBackup(live, items);
}

/** Velero's discovery cache: the one thing an operator must know to act on a finding. */
export const DISCOVERY_HINT =
  "Velero refreshes its list of API types only every 5 minutes (and when it starts), so a CRD installed shortly before a backup is missed: restart the Velero server (kubectl -n velero rollout restart deployment/velero) or wait 5 minutes, then back up again";

export function describeMissing(c: Completeness): string[] {
  return [
    ...c.missing.map((m) => `  missing  ${m.type} (live objects in scope, e.g. ${m.example})`),
    ...c.unreadable.map((u) => `  unchecked ${u.type}: ${u.reason}`),
  ];
}
