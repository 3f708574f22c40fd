/** `infra node remove NAME`: drain the node, delete its Node object, uninstall K3s from the host. */
import type { CommandContext } from "../context.js";
import type { Outcome } from "../outcome.js";
import { type AnsibleCommandResult, runAnsibleCommand } from "../phases/ansible-command.js";
import { nodeRemovePhases } from "../phases/node-remove.js";
import { confirmAction } from "../ui/confirm.js";

export interface NodeRemoveOptions {
  name: string;
  dryRun: boolean;
  yes: boolean;
  /** --config: the cluster.yaml the inventory must match (default: ./cluster.yaml when present). */
  config?: string;
}

export async function nodeRemoveCommand(
  ctx: CommandContext,
  options: NodeRemoveOptions,
): Promise<Outcome<AnsibleCommandResult>> {
  if (!options.dryRun) {
    await confirmAction(
      ctx,
      `Remove ${options.name}: drain it, delete its Node and uninstall K3s (look first with --dry-run)?`,
      options.yes,
    );
  }
  return runAnsibleCommand(
    ctx,
    {
      command: `node-remove-${options.name}`,
      rerun: `infra node remove ${options.name}`,
      dryRun: options.dryRun,
      tip: "remove the node from cluster.yaml and run infra configure, so the next run does not add it back",
    },
    (session) => nodeRemovePhases(session, options.name, options.config),
  );
}
