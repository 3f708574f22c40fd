/** `infra node remove NAME`: drain the node, delete its Node object, uninstall K3s from the host. */
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import type { Outcome } from "../outcome.js";
import { type AnsibleCommandResult, runAnsibleCommand } from "../phases/ansible-command.js";
import { nodeRemovePhases } from "../phases/node-remove.js";

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
  if (!options.dryRun && !options.yes) {
    throw new InfraError(
      "CONFIRMATION_REQUIRED",
      `removing ${options.name} drains it, deletes its Node and uninstalls K3s`,
      {
        kind: "usage",
        hint: `look first with: infra node remove ${options.name} --dry-run; then confirm with --yes`,
      },
    );
  }
  return runAnsibleCommand(
    ctx,
    {
      command: `node-remove-${options.name}`,
      dryRun: options.dryRun,
      tip: "remove the node from cluster.yaml and run infra configure, so the next run does not add it back",
    },
    (session) => nodeRemovePhases(session, options.name, options.config),
  );
}
