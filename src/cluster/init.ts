/** `infra cluster init`: bootstrap every host and install the first K3s server. */
import type { CommandContext } from "../context.js";
import type { Outcome } from "../outcome.js";
import { type AnsibleCommandResult, runAnsibleCommand } from "../phases/ansible-command.js";
import { clusterInitPhases, NODE_LAYERS } from "../phases/cluster-init.js";
import { allLayers, type LayerSelection, layerSelection } from "../phases/layers.js";
import { confirmAction } from "../ui/confirm.js";

export interface ClusterInitOptions {
  dryRun: boolean;
  yes: boolean;
  /** --config: the cluster.yaml the inventory must match (default: ./cluster.yaml when present). */
  config?: string;
  /** --until / --skip (hosts, k3s); default: both. */
  layers?: LayerSelection;
}

/** Typed options from the parsed flags (cli.ts). */
export function clusterInitOptions(o: Record<string, unknown>): ClusterInitOptions {
  return {
    dryRun: o.dryRun === true,
    yes: o.yes === true,
    ...(typeof o.config === "string" ? { config: o.config } : {}),
    layers: layerSelection(o, NODE_LAYERS),
  };
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
  const layers = options.layers ?? allLayers(NODE_LAYERS);
  return runAnsibleCommand(
    ctx,
    {
      command: "cluster-init",
      rerun: "infra cluster init",
      dryRun: options.dryRun,
      tip: "export KUBECONFIG=$PWD/.infra/kubeconfig, then add the other nodes: infra node add <name>",
      layers,
    },
    (session) => clusterInitPhases(session, options.config, layers),
  );
}
