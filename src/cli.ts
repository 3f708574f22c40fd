/**
 * The command tree: flags -> typed options, then a lazy import of the command's slice so
 * that `infra --help` loads nothing heavy. Commands return an Outcome; bin.ts prints it.
 */
import { Command, Option } from "commander";
import type { CommandContext, GlobalOptions } from "./context.js";
import type { Outcome } from "./outcome.js";
import { VERSION } from "./version.js";

export type Deliver = (outcome: Outcome) => void;
type Action = (context: CommandContext, options: Record<string, unknown>) => Promise<Outcome>;

export function buildProgram(context: CommandContext, deliver: Deliver): Command {
  const program = new Command("infra")
    .description("Run one K3s cluster on VPSs from several providers, joined over Tailscale.")
    .version(VERSION, "-V, --version", "print the version")
    .option("-c, --config <file>", "cluster config (default: ./cluster.yaml, else cluster.example.yaml)")
    .option("--json", "print the result as JSON (read commands)")
    .option("-v, --verbose", "print more detail")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  /** Wraps a command body: merges global options and hands the outcome to bin.ts. */
  const act =
    (body: Action) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const options = { ...command.optsWithGlobals(), args: command.args } as Record<string, unknown>;
      deliver(await body(context, options));
    };

  program
    .command("init")
    .description("create cluster.yaml (interactively or from flags) and an age key with .sops.yaml")
    .option("--name <name>", "cluster name (DNS-1123 label)")
    .option("--domain <domain>", "base domain in your Cloudflare zone")
    .option("--cloudflare-account-id <id>", "Cloudflare account id (32 hex characters)")
    .option("--acme-email <email>", "e-mail for Let's Encrypt")
    .option("--acme-environment <env>", "staging or production (default: staging)")
    .option("--git-repo-url <url>", "Git repository Argo CD syncs from")
    .option("--git-revision <rev>", "Git revision (default: main)")
    .option("--k3s-version <version>", "pinned K3s release (default: the tested pin)")
    .option("--bucket <name>", "R2 bucket for backups (default: <name>-backups)")
    .option(
      "--node <spec...>",
      "a node: name=,role=,provider=,region=,ip=[,tailscale-ip=][,user=][,ingress] (repeatable)",
    )
    .option(
      "--age-key-file <path>",
      "where the age private key goes (default: ~/.config/sops/age/<name>.txt)",
    )
    .option("-y, --yes", "replace an existing cluster.yaml / .sops.yaml without asking")
    .action(
      act(async (ctx, o) => {
        const init = await import("./init/init.js");
        return init.initCommand(ctx, init.initOptions(o));
      }),
    );

  program
    .command("configure")
    .description("render the Ansible inventory, OpenTofu variables and cluster values from cluster.yaml")
    .option("--check", "exit non-zero when a rendered file is stale; write nothing")
    .action(
      act(async (ctx, o) =>
        (await import("./render/configure.js")).configureCommand(ctx, {
          config: o.config as string | undefined,
          check: o.check === true,
        }),
      ),
    );

  program
    .command("check")
    .description("validate the repository offline: manifests, schemas, stack rules, secrets")
    .option("--no-schemas", "skip schema validation (builds and stack rules only)")
    .action(
      act(async (ctx, o) =>
        (await import("./check/check-command.js")).checkCommand(ctx, { schemas: o.schemas !== false }),
      ),
    );

  program
    .command("plan")
    .description("show what `infra up` would do, without credentials and without changing anything")
    .action(
      act(async (ctx, o) =>
        (await import("./plan/plan-command.js")).planCommand(ctx, { config: o.config as string | undefined }),
      ),
    );

  program
    .command("up")
    .description("create or converge the whole cluster: DNS and bucket, hosts, K3s, GitOps")
    .option("--dry-run", "show what would change; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--timeout <duration>", "how long to wait for the applications to become healthy", "30m")
    .action(
      act(async (ctx, o) => {
        const { durationOption } = await import("./kube/wait.js");
        const { upCommand } = await import("./up/up.js");
        return upCommand(ctx, {
          dryRun: o.dryRun === true,
          yes: o.yes === true,
          ...(typeof o.config === "string" ? { config: o.config } : {}),
          timeoutMs: durationOption("--timeout", String(o.timeout)),
        });
      }),
    );

  const cluster = program.command("cluster").description("cluster lifecycle");
  cluster
    .command("init")
    .description("bootstrap all hosts and install the first K3s server")
    .option("--dry-run", "run the playbooks in check mode with diff; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .action(
      act(async (ctx, o) =>
        (await import("./cluster/init.js")).clusterInitCommand(ctx, {
          dryRun: o.dryRun === true,
          yes: o.yes === true,
          ...(typeof o.config === "string" ? { config: o.config } : {}),
        }),
      ),
    );

  const node = program.command("node").description("add and remove nodes");
  node
    .command("add")
    .argument("<name>", "node name from cluster.yaml")
    .description("bootstrap one host and join it to the cluster")
    .option("--dry-run", "run the playbooks in check mode with diff; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .action(
      act(async (ctx, o) =>
        (await import("./node/add.js")).nodeAddCommand(ctx, {
          name: String((o.args as string[] | undefined)?.[0] ?? ""),
          dryRun: o.dryRun === true,
          yes: o.yes === true,
          ...(typeof o.config === "string" ? { config: o.config } : {}),
        }),
      ),
    );
  node
    .command("remove")
    .argument("<name>", "node name")
    .description("drain the node, delete it from Kubernetes and uninstall K3s from the host")
    .option("--dry-run", "show what would be done; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .action(
      act(async (ctx, o) =>
        (await import("./node/remove.js")).nodeRemoveCommand(ctx, {
          name: String((o.args as string[] | undefined)?.[0] ?? ""),
          dryRun: o.dryRun === true,
          yes: o.yes === true,
          ...(typeof o.config === "string" ? { config: o.config } : {}),
        }),
      ),
    );

  const dns = program.command("dns").description("Cloudflare DNS records and the R2 bucket (OpenTofu)");
  dns
    .command("plan")
    .description("tofu plan with the rendered variables")
    .action(act(async (ctx) => (await import("./dns/dns.js")).dnsPlan(ctx)));
  dns
    .command("apply")
    .description("tofu apply with the rendered variables")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--dry-run", "plan only: show what would change, change nothing")
    .action(
      act(async (ctx, o) =>
        (await import("./dns/dns.js")).dnsApply(ctx, { yes: o.yes === true, dryRun: o.dryRun === true }),
      ),
    );

  registerBackup(program, act);
  registerDr(program, act);

  const app = program.command("app").description("applications deployed through Argo CD");
  app
    .command("new")
    .argument("<name>", "application name (DNS-1123 label)")
    .description("scaffold kubernetes/apps/<name> from the template and register it")
    .option("--dry-run", "print the files that would be written")
    .action(
      act(async (ctx, o) =>
        (await import("./app/new.js")).appNewCommand(ctx, {
          name: String((o.args as string[] | undefined)?.[0] ?? ""),
          dryRun: o.dryRun === true,
        }),
      ),
    );

  clusterOptions(
    program.command("status").description("nodes, Argo CD applications and backups at a glance"),
  ).action(
    act(async (ctx, o) => (await import("./dr/status.js")).statusCommand(ctx, { ...clusterAccess(o) })),
  );

  program
    .command("doctor")
    .description("report each external tool: found or missing, version, and the command that fixes it")
    .action(act(async (ctx) => (await import("./toolchain/doctor.js")).doctorCommand(ctx)));

  const tools = program.command("tools").description("the pinned external tools (tools/versions.yaml)");
  tools
    .command("install")
    .argument("[names...]", "tools to install (default: all)")
    .description("install the pinned tools that are missing into the per-user cache")
    .option("--list", "list the pinned tools and where they go; install nothing")
    .action(
      act(async (ctx, o) =>
        (await import("./toolchain/install.js")).installCommand(ctx, {
          names: (o.args as string[] | undefined) ?? [],
          list: o.list === true,
        }),
      ),
    );
  tools
    .command("env")
    .description("print `export PATH=...` that puts the pinned tools first (for shells and scripts)")
    .action(act(async (ctx) => (await import("./toolchain/env.js")).envCommand(ctx)));

  return program;
}

type Act = (body: Action) => (...args: unknown[]) => Promise<void>;

/** How the backup and DR commands reach the cluster (added to each of them). */
function clusterOptions(command: Command): Command {
  return command
    .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config)")
    .option("--context <name>", "kubeconfig context to use (default: its current context)")
    .option("--velero-namespace <ns>", "namespace Velero runs in (default: $VELERO_NAMESPACE, else velero)");
}

function clusterAccess(o: Record<string, unknown>) {
  return {
    kubeconfig: o.kubeconfig as string | undefined,
    context: o.context as string | undefined,
    veleroNamespace: o.veleroNamespace as string | undefined,
  };
}

const str = (value: unknown) => value as string | undefined;
const list = (value: unknown) => value as string[] | undefined;
const flag = (value: unknown) => value === true;

function registerBackup(program: Command, act: Act) {
  const backup = program.command("backup").description("Velero backups to R2");
  const wait = () => new Option("--wait", "wait until the operation finishes, with progress");
  const timeout = () => new Option("--timeout <duration>", "give up waiting after this long").default("30m");
  clusterOptions(
    backup
      .command("create")
      .argument("[name]", "backup name (default: generated)")
      .description("create a Velero backup")
      .option("-n, --namespace <ns...>", "namespaces to include (default: all)")
      .option("-l, --selector <selector>", "label selector of the resources to include")
      .option("--ttl <duration>", "how long to keep the backup", "720h0m0s")
      .option("--include-volumes", "back up pod volumes with Kopia (file-system backup)")
      .option("--storage-location <name>", "backup storage location (default: Velero's default)")
      .option("--dry-run", "print the Backup object; create nothing")
      .addOption(wait())
      .addOption(timeout()),
  ).action(
    act(async (ctx, o) =>
      (await import("./backup/create.js")).backupCreateCommand(ctx, {
        ...clusterAccess(o),
        name: (o.args as string[])[0],
        namespaces: list(o.namespace),
        selector: str(o.selector),
        ttl: str(o.ttl),
        includeVolumes: flag(o.includeVolumes),
        storageLocation: str(o.storageLocation),
        dryRun: flag(o.dryRun),
        wait: flag(o.wait),
        timeout: str(o.timeout),
      }),
    ),
  );
  clusterOptions(backup.command("list").description("backups, schedules and storage locations")).action(
    act(async (ctx, o) => (await import("./backup/list.js")).backupListCommand(ctx, clusterAccess(o))),
  );
  clusterOptions(
    backup
      .command("describe")
      .argument("<name>")
      .description("phase, progress, errors and warnings of a backup"),
  ).action(
    act(async (ctx, o) =>
      (await import("./backup/describe.js")).backupDescribeCommand(ctx, {
        ...clusterAccess(o),
        name: (o.args as string[])[0] as string,
      }),
    ),
  );
  clusterOptions(
    backup
      .command("logs")
      .argument("<name>")
      .description("the backup's log (through a DownloadRequest)")
      .option("--restore", "NAME is a restore: print the restore's log"),
  ).action(
    act(async (ctx, o) =>
      (await import("./backup/logs.js")).backupLogsCommand(ctx, {
        ...clusterAccess(o),
        name: (o.args as string[])[0] as string,
        restore: flag(o.restore),
      }),
    ),
  );
  clusterOptions(
    backup
      .command("delete")
      .argument("<name>")
      .description("delete a backup and its data (through a DeleteBackupRequest)")
      .option("--dry-run", "print what would be deleted")
      .option("-y, --yes", "do not ask for confirmation")
      .addOption(wait())
      .addOption(timeout()),
  ).action(
    act(async (ctx, o) =>
      (await import("./backup/delete.js")).backupDeleteCommand(ctx, {
        ...clusterAccess(o),
        name: (o.args as string[])[0] as string,
        dryRun: flag(o.dryRun),
        yes: flag(o.yes),
        wait: flag(o.wait),
        timeout: str(o.timeout),
      }),
    ),
  );
  clusterOptions(
    backup
      .command("restore")
      .argument("<name>", "backup to restore")
      .description("restore a backup")
      .option("-n, --namespace <ns...>", "namespaces to restore (default: all in the backup)")
      .option("--namespace-mapping <map...>", "restore namespace a into b (a:b)")
      .option("--existing-resource-policy <policy>", "none or update", "none")
      .option("--allow-non-empty", "restore into namespaces that already hold objects")
      .option("--restore-name <name>", "name of the Restore object (default: <backup>-<timestamp>)")
      .option("--dry-run", "print the Restore object; create nothing")
      .option("-y, --yes", "do not ask for confirmation")
      .addOption(wait())
      .addOption(timeout()),
  ).action(
    act(async (ctx, o) =>
      (await import("./backup/restore.js")).backupRestoreCommand(ctx, {
        ...clusterAccess(o),
        name: (o.args as string[])[0] as string,
        restoreName: str(o.restoreName),
        namespaces: list(o.namespace),
        namespaceMapping: list(o.namespaceMapping),
        existingResourcePolicy: str(o.existingResourcePolicy),
        allowNonEmpty: flag(o.allowNonEmpty),
        dryRun: flag(o.dryRun),
        yes: flag(o.yes),
        wait: flag(o.wait),
        timeout: str(o.timeout),
      }),
    ),
  );
}

function registerDr(program: Command, act: Act) {
  const dr = program.command("dr").description("disaster recovery");
  clusterOptions(
    dr
      .command("restore-workload")
      .argument("<app>", "application (namespace) to restore")
      .description("restore an app from the latest completed backup that contains it")
      .option("--backup <name>", "use this backup instead of the latest one that contains the app")
      .option("--allow-non-empty", "restore into the namespace even though it still holds objects")
      .option("--existing-resource-policy <policy>", "none or update", "none")
      .option("--dry-run", "print what would be restored")
      .option("-y, --yes", "do not ask for confirmation")
      .option("--timeout <duration>", "give up waiting after this long", "30m"),
  ).action(
    act(async (ctx, o) =>
      (await import("./dr/restore-workload.js")).restoreWorkloadCommand(ctx, {
        ...clusterAccess(o),
        app: (o.args as string[])[0] as string,
        backup: str(o.backup),
        allowNonEmpty: flag(o.allowNonEmpty),
        existingResourcePolicy: str(o.existingResourcePolicy),
        dryRun: flag(o.dryRun),
        yes: flag(o.yes),
        timeout: str(o.timeout),
      }),
    ),
  );
  clusterOptions(
    dr
      .command("failover")
      .argument("<node>", "the failed node")
      .description("cordon and drain a failed node and restore its workloads where needed")
      .option("--to <node>", "move the workloads to this node")
      .option("--dry-run", "print what would move")
      .option("-y, --yes", "do not ask for confirmation")
      .option("--timeout <duration>", "give up waiting after this long", "30m"),
  ).action(
    act(async (ctx, o) =>
      (await import("./dr/failover.js")).failoverCommand(ctx, {
        ...clusterAccess(o),
        node: (o.args as string[])[0] as string,
        to: str(o.to),
        dryRun: flag(o.dryRun),
        yes: flag(o.yes),
        timeout: str(o.timeout),
      }),
    ),
  );
  clusterOptions(
    dr
      .command("node-recovery")
      .argument("<node>", "the node to rebuild")
      .description("remove the stale Node object and re-provision the host with the playbooks")
      .option("--force", "recover even though the node reports Ready")
      .option("--skip-playbooks", "only clean up the cluster side; re-provision the host yourself")
      .option("--dry-run", "print what would be done")
      .option("-y, --yes", "do not ask for confirmation")
      .option("--timeout <duration>", "give up waiting for the node to rejoin after this long", "30m"),
  ).action(
    act(async (ctx, o) =>
      (await import("./dr/node-recovery.js")).nodeRecoveryCommand(ctx, {
        ...clusterAccess(o),
        node: (o.args as string[])[0] as string,
        config: str(o.config),
        force: flag(o.force),
        skipPlaybooks: flag(o.skipPlaybooks),
        dryRun: flag(o.dryRun),
        yes: flag(o.yes),
        timeout: str(o.timeout),
      }),
    ),
  );
  clusterOptions(
    dr
      .command("drill")
      .description("back up a namespace, restore it into a scratch namespace, compare, clean up")
      .option("-n, --namespace <ns>", "namespace to drill", "default")
      .option("--keep", "keep the scratch namespace and the drill backup for inspection")
      .option("--timeout <duration>", "give up waiting after this long", "30m"),
  ).action(
    act(async (ctx, o) =>
      (await import("./dr/drill.js")).drillCommand(ctx, {
        ...clusterAccess(o),
        namespace: str(o.namespace) ?? "default",
        keep: flag(o.keep),
        timeout: str(o.timeout),
      }),
    ),
  );
}

export type { GlobalOptions };
