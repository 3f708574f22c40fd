/** `infra node add NAME`: bootstrap one host of cluster.yaml and join it to the cluster. */
import type { CommandContext } from "../context.js";
import type { Outcome } from "../outcome.js";
import { type AnsibleCommandResult, runAnsibleCommand } from "../phases/ansible-command.js";
import { NODE_LAYERS } from "../phases/cluster-init.js";
import { allLayers, type LayerSelection, layerSelection } from "../phases/layers.js";
import { nodeAddPhases } from "../phases/node-add.js";
import { confirmAction } from "../ui/confirm.js";

export interface NodeAddOptions {
  name: string;
  dryRun: boolean;
  yes: boolean;
  /** --config: the cluster.yaml the inventory must match (default: ./cluster.yaml when present). */
  config?: string;
  /** --until / --skip (hosts, k3s); default: both. */
  layers?: LayerSelection;
}

/** Typed options from the parsed flags (cli.ts). */
export function nodeAddOptions(o: Record<string, unknown>): NodeAddOptions {
  return {
    name: String((o.args as string[] | undefined)?.[0] ?? ""),
    dryRun: o.dryRun === true,
    yes: o.yes === true,
    ...(typeof o.config === "string" ? { config: o.config } : {}),
    layers: layerSelection(o, NODE_LAYERS),
  };
}

export async function nodeAddCommand(
  ctx: CommandContext,
  options: NodeAddOptions,
): Promise<Outcome<AnsibleCommandResult>> {
  if (!options.dryRun) {
    await confirmAction(
      ctx,
      `Provision ${options.name} (packages, SSH, firewall, Tailscale) and join it to the cluster (look first with --dry-run)?`,
      options.yes,
    );
  }
  const layers = options.layers ?? allLayers(NODE_LAYERS);
  return runAnsibleCommand(
    ctx,
    {
      command: `node-add-${options.name}`,
      rerun: `infra node add ${options.name}`,
      dryRun: options.dryRun,
      tip: "infra status",
      layers,
    },
    (session) => nodeAddPhases(session, options.name, options.config, layers),
  );
}
