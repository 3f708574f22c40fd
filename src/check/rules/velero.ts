import { checkCronSpec } from "../../lib/cron.js";
import { parseGoDuration } from "../../lib/go-duration.js";
import type { Finding } from "../findings.js";
import { at, get, is, list, type Resource, str, strings } from "../resources.js";
import { isObject, type Json, type PathPart } from "../source.js";
import { helmSources, type RepoFiles, valuePath } from "./helm-values.js";
import type { Rule } from "./rule.js";

const isR2 = (url: string | undefined) => url !== undefined && /\.r2\.cloudflarestorage\.com/.test(url);

/** Backup storage locations: BackupStorageLocation objects and the Velero chart's configuration. */
function locations(
  resources: readonly Resource[],
  repo: RepoFiles,
): { resource: Resource; location: Json | undefined; path: PathPart[] }[] {
  const out: { resource: Resource; location: Json | undefined; path: PathPart[] }[] = [];
  for (const resource of resources) {
    if (is(resource, "BackupStorageLocation", "velero.io"))
      out.push({ resource, location: get(resource.object, "spec"), path: ["spec"] });
  }
  for (const source of helmSources(resources, repo)) {
    if (source.chart !== "velero") continue;
    const bsl = get(source.values, "configuration", "backupStorageLocation");
    list(bsl).forEach((location, i) => {
      out.push({
        resource: source.resource,
        location,
        path: valuePath(source, ["configuration", "backupStorageLocation", i]),
      });
    });
  }
  return out;
}

export const veleroR2Checksum: Rule = {
  id: "velero-r2-checksum",
  title: 'an R2 backup location must set config.checksumAlgorithm: ""',
  reason:
    "velero-plugin-for-aws >= 1.9 (aws-sdk-go-v2) sends CRC32 checksum trailers that R2 rejects with 501 " +
    "(velero-io/velero#7940; plugin README)",
  check(tree) {
    const findings: Finding[] = [];
    for (const { resource, location, path } of locations(tree.resources, tree)) {
      const config = get(location, "config");
      if (!isR2(str(get(config, "s3Url")))) continue;
      const checksum = get(config, "checksumAlgorithm");
      if (checksum === "") continue;
      findings.push(
        at(resource, [...path, "config"], {
          rule: this.id,
          message:
            checksum === undefined
              ? "the R2 backup location has no config.checksumAlgorithm, so uploads fail with 501 on R2"
              : `the R2 backup location sets checksumAlgorithm: ${JSON.stringify(checksum)}; R2 needs ""`,
          fix: 'add `checksumAlgorithm: ""` under the location\'s config',
        }),
      );
    }
    return findings;
  },
};

const BROKEN_PLUGIN = /velero-plugin-for-aws:v?1\.14\.[12](?![0-9])/;

export const veleroAwsPlugin: Rule = {
  id: "velero-aws-plugin-r2",
  title: "velero-plugin-for-aws v1.14.1 and v1.14.2 do not work with R2",
  reason:
    "v1.14.1/v1.14.2 always send an empty x-amz-tagging header; R2 answers 501 and every backup fails " +
    "(velero-io/velero#9931, velero-plugin-for-aws#299/#309; fixed in v1.14.3)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      if (!JSON.stringify(resource.object).includes("velero-plugin-for-aws")) continue;
      for (const [value, path] of strings(resource.object)) {
        if (BROKEN_PLUGIN.test(value)) {
          findings.push(
            at(resource, path, {
              rule: this.id,
              message: `${value} breaks backups to R2`,
              fix: "use velero/velero-plugin-for-aws:v1.14.3 or newer (or v1.14.0)",
            }),
          );
        }
      }
    }
    return findings;
  },
};

export const veleroUpgradeCrds: Rule = {
  id: "velero-upgrade-crds",
  title: "the Velero chart under Argo CD must set upgradeCRDs: false",
  reason: "the chart's upgrade-CRDs hook Job fights Argo CD's sync (vmware-tanzu/helm-charts#335)",
  check(tree) {
    const findings: Finding[] = [];
    for (const source of helmSources(tree.resources, tree)) {
      if (source.chart !== "velero" || !is(source.resource, "Application")) continue;
      if (get(source.values, "upgradeCRDs") === false || !source.complete) continue;
      findings.push(
        at(source.resource, valuePath(source, ["upgradeCRDs"]), {
          rule: this.id,
          message: "the Velero chart runs its CRD upgrade Job (upgradeCRDs is not false)",
          fix: "set `upgradeCRDs: false` in the chart values; Argo CD applies the chart's CRDs",
        }),
      );
    }
    return findings;
  },
};

export const localPathVolumeType: Rule = {
  id: "local-path-volume-type",
  title: "a local-path StorageClass must create `local` volumes for Velero file-system backup",
  reason:
    "local-path-provisioner makes hostPath PVs by default and Velero's file-system backup skips hostPath " +
    "volumes (velero-io/velero#8161, #8251; local-path-provisioner README, Volume Types)",
  check(tree) {
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      if (!is(resource, "StorageClass", "storage.k8s.io")) continue;
      if (get(resource.object, "provisioner") !== "rancher.io/local-path") continue;
      const annotations = get(resource.object, "metadata", "annotations");
      if (isObject(annotations) && annotations.defaultVolumeType === "local") continue;
      findings.push(
        at(resource, ["metadata"], {
          rule: this.id,
          severity: "warning",
          message: `StorageClass ${String(get(resource.object, "metadata", "name"))} makes hostPath volumes, which Velero does not back up`,
          fix: "add the annotation `defaultVolumeType: local`",
        }),
      );
    }
    return findings;
  },
};

interface Timing {
  resource: Resource;
  path: PathPart[];
  what: string;
  value: Json | undefined;
  kind: "cron" | "ttl";
}

/** Schedules and TTLs: Schedule and Backup objects, and the Velero chart's schedules and default TTL. */
function timings(resources: readonly Resource[], repo: RepoFiles): Timing[] {
  const out: Timing[] = [];
  for (const resource of resources) {
    const name = String(get(resource.object, "metadata", "name") ?? "");
    if (is(resource, "Schedule", "velero.io")) {
      out.push({
        resource,
        path: ["spec", "schedule"],
        what: `Schedule ${name}`,
        value: get(resource.object, "spec", "schedule"),
        kind: "cron",
      });
      out.push({
        resource,
        path: ["spec", "template", "ttl"],
        what: `Schedule ${name}`,
        value: get(resource.object, "spec", "template", "ttl"),
        kind: "ttl",
      });
    }
    if (is(resource, "Backup", "velero.io")) {
      out.push({
        resource,
        path: ["spec", "ttl"],
        what: `Backup ${name}`,
        value: get(resource.object, "spec", "ttl"),
        kind: "ttl",
      });
    }
  }
  for (const source of helmSources(resources, repo)) {
    if (source.chart !== "velero") continue;
    const schedules = get(source.values, "schedules");
    if (isObject(schedules)) {
      for (const [name, schedule] of Object.entries(schedules)) {
        const base = ["schedules", name];
        out.push({
          resource: source.resource,
          path: valuePath(source, [...base, "schedule"]),
          what: `chart schedule ${name}`,
          value: get(schedule, "schedule"),
          kind: "cron",
        });
        out.push({
          resource: source.resource,
          path: valuePath(source, [...base, "template", "ttl"]),
          what: `chart schedule ${name}`,
          value: get(schedule, "template", "ttl"),
          kind: "ttl",
        });
      }
    }
    const ttl = get(source.values, "configuration", "defaultBackupTTL");
    out.push({
      resource: source.resource,
      path: valuePath(source, ["configuration", "defaultBackupTTL"]),
      what: "the chart's defaultBackupTTL",
      value: ttl,
      kind: "ttl",
    });
  }
  return out;
}

export const veleroSchedule: Rule = {
  id: "velero-schedule",
  title: "Velero schedules and TTLs parse as Velero parses them",
  reason:
    "Velero marks a Schedule FailedValidation when go-cron's ParseStandard rejects its cron spec (5 fields or a " +
    "descriptor; no seconds, L, W or #), and a TTL must be a Go duration (h, m, s; no d) " +
    "(velero pkg/controller/schedule_controller.go parseCronSchedule; metav1.Duration)",
  check(tree) {
    const findings: Finding[] = [];
    for (const t of timings(tree.resources, tree)) {
      if (t.value === undefined || t.value === null) continue;
      const text = typeof t.value === "string" ? t.value : undefined;
      if (text?.startsWith("set-by-")) continue;
      if (t.kind === "cron") {
        const result =
          text === undefined ? { ok: false as const, error: "not a string" } : checkCronSpec(text);
        if (result.ok && !result.neverFires) continue;
        findings.push(
          at(t.resource, t.path, {
            rule: this.id,
            message: result.ok
              ? `${t.what}: the schedule ${JSON.stringify(t.value)} never runs: ${result.neverFires}`
              : `${t.what}: Velero rejects the schedule ${JSON.stringify(t.value)}: ${result.error}`,
            fix: 'write five fields (minute hour day-of-month month day-of-week, e.g. "0 3 * * *") or a descriptor such as @daily or "@every 6h"',
          }),
        );
      } else {
        const result =
          text === undefined ? { ok: false as const, reason: "not a string" } : parseGoDuration(text);
        if (result.ok) continue;
        findings.push(
          at(t.resource, t.path, {
            rule: this.id,
            message: `${t.what}: Velero rejects the TTL ${JSON.stringify(t.value)}: ${result.reason}`,
            fix: 'write a Go duration in hours, minutes and seconds, e.g. "720h0m0s" for 30 days',
          }),
        );
      }
    }
    return findings;
  },
};
