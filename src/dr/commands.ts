/** `infra dr ...` and `infra status`: declared here, implemented next to it (see src/command-declaration.ts). */
import { clusterOptions, MAX_BACKUP_DURATION, TIMEOUT, VELERO_NAMESPACE } from "../backup/commands.js";
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const drCommands = [
  group("dr", "disaster recovery", [
    command({
      name: "restore-workload",
      summary: "restore an app from the newest Completed backup that contains it, then check its objects",
      changes: true,
      args: [{ name: "<app>", description: "application (namespace) to restore" }],
      options: [
        {
          flags: "--backup <name>",
          description: "use this backup instead of the latest one that contains the app",
        },
        {
          flags: "--allow-non-empty",
          description: "restore into the namespace even though it still holds objects",
        },
        { flags: "--existing-resource-policy <policy>", description: "none or update", default: "none" },
        DRY_RUN("print what would be restored"),
        YES,
        TIMEOUT(),
        VELERO_NAMESPACE,
      ],
      examples: ["infra dr restore-workload shop --dry-run", "infra dr restore-workload shop --yes"],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./restore-workload.js")).restoreWorkloadCommand(ctx, {
          ...clusterOptions(input),
          app: input.arg(0),
          backup: input.string("backup"),
          allowNonEmpty: input.flag("allowNonEmpty"),
          existingResourcePolicy: input.string("existingResourcePolicy"),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          timeout: input.string("timeout"),
        }),
    }),
    command({
      name: "failover",
      summary: "cordon and drain a failed node and restore its workloads where needed",
      changes: true,
      args: [{ name: "<node>", description: "the failed node" }],
      options: [
        { flags: "--to <node>", description: "move the workloads to this node" },
        DRY_RUN("print what would move"),
        YES,
        TIMEOUT(),
        VELERO_NAMESPACE,
      ],
      examples: ["infra dr failover hetzner-2 --dry-run", "infra dr failover hetzner-2 --to vultr-1 --yes"],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./failover.js")).failoverCommand(ctx, {
          ...clusterOptions(input),
          node: input.arg(0),
          to: input.string("to"),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          timeout: input.string("timeout"),
        }),
    }),
    command({
      name: "node-recovery",
      summary: "remove the stale Node object and re-provision the host with the playbooks",
      changes: true,
      args: [{ name: "<node>", description: "the node to rebuild" }],
      options: [
        { flags: "--force", description: "recover even though the node reports Ready" },
        {
          flags: "--skip-playbooks",
          description: "only clean up the cluster side; re-provision the host yourself",
        },
        DRY_RUN("print what would be done"),
        YES,
        TIMEOUT("give up waiting for the node to rejoin after this long"),
        VELERO_NAMESPACE,
      ],
      examples: ["infra dr node-recovery hetzner-2 --dry-run", "infra dr node-recovery hetzner-2 --yes"],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./node-recovery.js")).nodeRecoveryCommand(ctx, {
          ...clusterOptions(input),
          node: input.arg(0),
          config: input.string("config"),
          force: input.flag("force"),
          skipPlaybooks: input.flag("skipPlaybooks"),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          timeout: input.string("timeout"),
        }),
    }),
    command({
      name: "snapshots",
      summary: "list the K3s etcd snapshots in the bucket, newest first",
      examples: ["infra dr snapshots", "infra dr snapshots --json"],
      read: true,
      run: async (ctx, input) =>
        (await import("./etcd-snapshots.js")).snapshotsCommand(ctx, { config: input.string("config") }),
    }),
    command({
      name: "restore-control-plane",
      summary:
        "restore the control plane from an etcd snapshot: cluster reset on the first server, rejoin the others",
      options: [
        {
          flags: "--snapshot <name>",
          description: "snapshot to restore (default: the newest in the bucket)",
        },
        { flags: "--force", description: "restore even though the control plane looks healthy" },
        DRY_RUN("print the snapshot, the cluster's state and the steps"),
        YES,
        TIMEOUT("give up waiting for the nodes to be Ready after this long"),
      ],
      examples: [
        "infra dr restore-control-plane --dry-run",
        "infra dr restore-control-plane --snapshot etcd-snapshot-hetzner-1-1764900000 --yes",
      ],
      cluster: true,
      changes: true,
      run: async (ctx, input) =>
        (await import("./restore-control-plane.js")).restoreControlPlaneCommand(ctx, {
          ...clusterOptions(input),
          snapshot: input.string("snapshot"),
          config: input.string("config"),
          force: input.flag("force"),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          timeout: input.string("timeout"),
        }),
    }),
    command({
      name: "drill",
      summary: "back up a namespace, restore it into a scratch namespace, compare, clean up",
      changes: true,
      options: [
        { flags: "-n, --namespace <ns>", description: "namespace to drill", default: "default" },
        { flags: "--keep", description: "keep the scratch namespace and the drill backup for inspection" },
        TIMEOUT(),
        VELERO_NAMESPACE,
      ],
      examples: ["infra dr drill -n shop", "infra dr drill -n shop --keep"],
      cluster: true,
      run: async (ctx, input) =>
        (await import("./drill.js")).drillCommand(ctx, {
          ...clusterOptions(input),
          namespace: input.string("namespace") ?? "default",
          keep: input.flag("keep"),
          timeout: input.string("timeout"),
        }),
    }),
  ]),
];

export const statusCommands = [
  command({
    name: "status",
    summary:
      "nodes, applications, backups, certificates, etcd and flannel routes; exits 1 when the backup RPO is at risk",
    options: [MAX_BACKUP_DURATION, VELERO_NAMESPACE],
    examples: ["infra status", "infra status --json", "infra status --max-backup-duration 2h"],
    read: true,
    cluster: true,
    run: async (ctx, input) =>
      (await import("./status.js")).statusCommand(ctx, {
        ...clusterOptions(input),
        maxBackupDuration: input.string("maxBackupDuration"),
      }),
  }),
];
