/** `infra cluster init`: bootstrap every host and install the first K3s server. */
import type { CommandContext } from "../context.js";
import type { Outcome } from "../outcome.js";
import { type AnsibleCommandResult, runAnsibleCommand } from "../phases/ansible-command.js";
import { clusterInitPhases } from "../phases/cluster-init.js";
import { confirmAction } from "../ui/confirm.js";

export interface ClusterInitOptions {
  dryRun: boolean;
  yes: boolean;
  /** --config: the cluster.yaml the inventory must match (default: ./cluster.yaml when present). */
  config?: string;
}

export async function clusterInitCommand(
  ctx: CommandContext,
  options: ClusterInitOptions,
): Promise<Outcome<AnsibleCommandResult>> {
  if (!options.dryRun) {
    await confirmAction(
      ctx,
      "Provision every host (packages, SSH, firewall, Tailscale) and install the first K3s server (look first with --dry-run)?",
      options.yes,
    );
  }
  return runAnsibleCommand(
    ctx,
    {
      command: "cluster-init",
      rerun: "infra cluster init",
      dryRun: options.dryRun,
      tip: "export KUBECONFIG=$PWD/.infra/kubeconfig, then add the other nodes: infra node add <name>",
    },
    (session) => clusterInitPhases(session, options.config),
  );
}
