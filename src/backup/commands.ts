/** `infra backup ...`: declared here, implemented next to it (see src/command-declaration.ts). */
import {
  type CommandInput,
  command,
  DRY_RUN,
  group,
  type OptionDeclaration,
  YES,
} from "../command-declaration.js";
import { kubeAccess } from "../kube/access-options.js";
import type { ClusterOptions } from "./common.js";

/** Where Velero runs; every backup and DR command (and `status`) takes it. */
export const VELERO_NAMESPACE: OptionDeclaration = {
  flags: "--velero-namespace <ns>",
  description: "namespace Velero runs in (default: $VELERO_NAMESPACE, else velero)",
};

/** Kubeconfig, context and Velero namespace from the parsed flags. */
export function clusterOptions(input: CommandInput): ClusterOptions {
  return { ...kubeAccess(input), veleroNamespace: input.string("veleroNamespace") };
}

/** `--max-backup-duration` of `infra status` and `infra backup list`: the RPO watch's bound. */
export const MAX_BACKUP_DURATION: OptionDeclaration = {
  flags: "--max-backup-duration <duration>",
  description:
    "flag backups running longer, and schedules whose last success is older than their period plus this",
  default: "1h",
};

export const WAIT: OptionDeclaration = {
  flags: "--wait",
  description: "wait until the operation finishes, with progress",
};
export const TIMEOUT = (description = "give up waiting after this long"): OptionDeclaration => ({
  flags: "--timeout <duration>",
  description,
  default: "30m",
});

export const backupCommands = [
  group("backup", "Velero backups to R2", [
    command({
      name: "create",
      summary: "create a Velero backup; with --wait, check it holds every type with live objects",
      changes: true,
      args: [{ name: "[name]", description: "backup name (default: generated)" }],
      options: [
        { flags: "-n, --namespace <ns...>", description: "namespaces to include (default: all)" },
        { flags: "-l, --selector <selector>", description: "label selector of the resources to include" },
        { flags: "--ttl <duration>", description: "how long to keep the backup", default: "720h0m0s" },
        { flags: "--include-volumes", description: "back up pod volumes with Kopia (file-system backup)" },
        {
          flags: "--storage-location <name>",
          description: "backup storage location (default: Velero's default)",
        },
        {
          flags: "--from-schedule <schedule>",
          description: "take namespaces, selector, TTL and volumes from this schedule",
        },
        DRY_RUN("print the Backup object; create nothing"),
        WAIT,
        TIMEOUT(),
        VELERO_NAMESPACE,
      ],
      examples: [
        "infra backup create --wait",
        "infra backup create before-upgrade -n shop --include-volumes --wait",
        "infra backup create --from-schedule daily --wait",
      ],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./create.js")).backupCreateCommand(ctx, {
          ...clusterOptions(input),
          name: input.optionalArg(0),
          namespaces: input.list("namespace"),
          selector: input.string("selector"),
          ttl: input.string("ttl"),
          includeVolumes: input.flag("includeVolumes"),
          storageLocation: input.string("storageLocation"),
          fromSchedule: input.string("fromSchedule"),
          dryRun: input.flag("dryRun"),
          wait: input.flag("wait"),
          timeout: input.string("timeout"),
        }),
    }),
    command({
      name: "list",
      summary: "backups, schedules (RPO and completeness) and storage locations",
      options: [MAX_BACKUP_DURATION, VELERO_NAMESPACE],
      examples: [
        "infra backup list",
        "infra backup list --json",
        "infra backup list --max-backup-duration 2h",
      ],
      read: true,
      cluster: true,
      run: async (ctx, input) =>
        (await import("./list.js")).backupListCommand(ctx, {
          ...clusterOptions(input),
          maxBackupDuration: input.string("maxBackupDuration"),
        }),
    }),
    command({
      name: "describe",
      summary: "phase, progress, errors, warnings and completeness of a backup",
      args: [{ name: "<name>" }],
      options: [VELERO_NAMESPACE],
      examples: ["infra backup describe nightly-20261205020000"],
      read: true,
      cluster: true,
      run: async (ctx, input) =>
        (await import("./describe.js")).backupDescribeCommand(ctx, {
          ...clusterOptions(input),
          name: input.arg(0),
        }),
    }),
    command({
      name: "logs",
      summary: "the backup's log (through a DownloadRequest)",
      args: [{ name: "<name>" }],
      options: [
        { flags: "--restore", description: "NAME is a restore: print the restore's log" },
        VELERO_NAMESPACE,
      ],
      examples: [
        "infra backup logs nightly-20261205020000",
        "infra backup logs shop-20261205101500 --restore",
      ],
      read: true,
      cluster: true,
      run: async (ctx, input) =>
        (await import("./logs.js")).backupLogsCommand(ctx, {
          ...clusterOptions(input),
          name: input.arg(0),
          restore: input.flag("restore"),
        }),
    }),
    command({
      name: "delete",
      summary: "delete a backup and its data (through a DeleteBackupRequest)",
      changes: true,
      args: [{ name: "<name>" }],
      options: [DRY_RUN("print what would be deleted"), YES, WAIT, TIMEOUT(), VELERO_NAMESPACE],
      examples: [
        "infra backup delete before-upgrade --dry-run",
        "infra backup delete before-upgrade --yes --wait",
      ],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./delete.js")).backupDeleteCommand(ctx, {
          ...clusterOptions(input),
          name: input.arg(0),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          wait: input.flag("wait"),
          timeout: input.string("timeout"),
        }),
    }),
    command({
      name: "restore",
      summary: "restore a backup; shows where it writes before it asks",
      changes: true,
      args: [{ name: "[name]", description: "backup to restore (or --from-schedule)" }],
      options: [
        {
          flags: "--from-schedule <schedule>",
          description: "restore the newest Completed backup of this schedule",
        },
        {
          flags: "-n, --namespace <ns...>",
          description: "namespaces to restore (default: all in the backup)",
        },
        { flags: "--namespace-mapping <map...>", description: "restore namespace a into b (a:b)" },
        { flags: "--existing-resource-policy <policy>", description: "none or update", default: "none" },
        { flags: "--allow-non-empty", description: "restore into namespaces that already hold objects" },
        {
          flags: "--whole-cluster",
          description:
            "every namespace but Velero's, cluster-scoped objects too; system namespaces keep what they hold",
        },
        {
          flags: "--restore-name <name>",
          description: "name of the Restore object (default: <backup>-<timestamp>)",
        },
        DRY_RUN("print the Restore object; create nothing"),
        YES,
        WAIT,
        TIMEOUT(),
        VELERO_NAMESPACE,
      ],
      examples: [
        "infra backup restore nightly-20261205020000 -n shop --dry-run",
        "infra backup restore nightly-20261205020000 --namespace-mapping shop:shop-copy --yes --wait",
        "infra backup restore --from-schedule daily -n shop --yes --wait",
        "infra backup restore everything-20261205020000 --whole-cluster --yes --wait",
      ],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./restore.js")).backupRestoreCommand(ctx, {
          ...clusterOptions(input),
          name: input.optionalArg(0),
          fromSchedule: input.string("fromSchedule"),
          restoreName: input.string("restoreName"),
          namespaces: input.list("namespace"),
          namespaceMapping: input.list("namespaceMapping"),
          existingResourcePolicy: input.string("existingResourcePolicy"),
          allowNonEmpty: input.flag("allowNonEmpty"),
          wholeCluster: input.flag("wholeCluster"),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          wait: input.flag("wait"),
          timeout: input.string("timeout"),
        }),
    }),
  ]),
];
