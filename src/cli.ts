/**
 * The command tree: flags -> typed options, then a lazy import of the command's slice so
 * that `infra --help` loads nothing heavy. Commands return an Outcome; bin.ts prints it.
 */
import { Command, Option } from "commander";
import type { CommandContext, GlobalOptions } from "./context.js";
import { notBuilt } from "./errors.js";
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
  const pending = (name: string, issue: number) => act(async () => Promise.reject(notBuilt(name, issue)));

  program
    .command("init")
    .description("create cluster.yaml (interactively or from flags) and an age key with .sops.yaml")
    .action(pending("init", 3));

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
    .action(pending("up", 4));

  const cluster = program.command("cluster").description("cluster lifecycle");
  cluster
    .command("init")
    .description("bootstrap all hosts and install the first K3s server")
    .option("--dry-run", "run the playbooks in check mode with diff; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .action(pending("cluster init", 4));

  const node = program.command("node").description("add and remove nodes");
  node
    .command("add")
    .argument("<name>", "node name from cluster.yaml")
    .description("bootstrap one host and join it to the cluster")
    .option("--dry-run", "run the playbooks in check mode with diff; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .action(pending("node add", 4));
  node
    .command("remove")
    .argument("<name>", "node name")
    .description("drain the node, delete it from Kubernetes and uninstall K3s from the host")
    .option("--dry-run", "show what would be done; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .action(pending("node remove", 4));

  const dns = program.command("dns").description("Cloudflare DNS records and the R2 bucket (OpenTofu)");
  dns.command("plan").description("tofu plan with the rendered variables").action(pending("dns plan", 7));
  dns
    .command("apply")
    .description("tofu apply with the rendered variables")
    .option("-y, --yes", "do not ask for confirmation")
    .action(pending("dns apply", 7));

  registerBackup(program, pending);
  registerDr(program, pending);

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

  program
    .command("status")
    .description("nodes, Argo CD applications and backups at a glance")
    .action(pending("status", 8));

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

function registerBackup(program: Command, pending: (name: string, issue: number) => (...a: unknown[]) => Promise<void>) {
  const backup = program.command("backup").description("Velero backups to R2");
  const wait = () => new Option("--wait", "wait until the operation finishes, with progress");
  const timeout = () => new Option("--timeout <duration>", "give up waiting after this long").default("30m");
  backup
    .command("create")
    .argument("[name]", "backup name (default: generated)")
    .description("create a Velero backup")
    .option("-n, --namespace <ns...>", "namespaces to include (default: all)")
    .option("-l, --selector <selector>", "label selector of the resources to include")
    .option("--ttl <duration>", "how long to keep the backup", "720h0m0s")
    .option("--include-volumes", "back up pod volumes with Kopia (file-system backup)")
    .option("--dry-run", "print the Backup object; create nothing")
    .addOption(wait())
    .addOption(timeout())
    .action(pending("backup create", 8));
  backup.command("list").description("backups and schedules").action(pending("backup list", 8));
  backup
    .command("describe")
    .argument("<name>")
    .description("phase, progress, errors and warnings of a backup")
    .action(pending("backup describe", 8));
  backup
    .command("logs")
    .argument("<name>")
    .description("the backup's log (through a DownloadRequest)")
    .action(pending("backup logs", 8));
  backup
    .command("delete")
    .argument("<name>")
    .description("delete a backup and its data (through a DeleteBackupRequest)")
    .option("--dry-run", "print what would be deleted")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(wait())
    .addOption(timeout())
    .action(pending("backup delete", 8));
  backup
    .command("restore")
    .argument("<name>", "backup to restore")
    .description("restore a backup")
    .option("-n, --namespace <ns...>", "namespaces to restore (default: all in the backup)")
    .option("--namespace-mapping <map...>", "restore namespace a into b (a:b)")
    .option("--existing-resource-policy <policy>", "none or update", "none")
    .option("--allow-non-empty", "restore into namespaces that already hold objects")
    .option("--dry-run", "print the Restore object; create nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(wait())
    .addOption(timeout())
    .action(pending("backup restore", 8));
}

function registerDr(program: Command, pending: (name: string, issue: number) => (...a: unknown[]) => Promise<void>) {
  const dr = program.command("dr").description("disaster recovery");
  dr.command("restore-workload")
    .argument("<app>", "application (namespace) to restore")
    .description("restore an app from the latest completed backup that contains it")
    .option("--dry-run", "print what would be restored")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--timeout <duration>", "give up waiting after this long", "30m")
    .action(pending("dr restore-workload", 8));
  dr.command("failover")
    .argument("<node>", "the failed node")
    .description("cordon and drain a failed node and restore its workloads where needed")
    .option("--to <node>", "move the workloads to this node")
    .option("--dry-run", "print what would move")
    .option("-y, --yes", "do not ask for confirmation")
    .action(pending("dr failover", 8));
  dr.command("node-recovery")
    .argument("<node>", "the node to rebuild")
    .description("remove the stale Node object and re-provision the host with the playbooks")
    .option("--dry-run", "print what would be done")
    .option("-y, --yes", "do not ask for confirmation")
    .action(pending("dr node-recovery", 8));
  dr.command("drill")
    .description("back up a namespace, restore it into a scratch namespace, compare, clean up")
    .option("-n, --namespace <ns>", "namespace to drill", "default")
    .option("--timeout <duration>", "give up waiting after this long", "30m")
    .action(pending("dr drill", 8));
}

export type { GlobalOptions };
