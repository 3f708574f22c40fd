/**
 * What `infra upgrade` does on the hosts themselves, through the playbooks: the on-demand etcd snapshot
 * on the first server (k3s-etcd-snapshot.yml) and the K3s install at the new release on the nodes of one
 * step (k3s-upgrade.yml --limit). Everything else (order, cordon, eviction, waiting) goes through the
 * Kubernetes API in upgrade.ts.
 */
import { checkVault } from "../adapters/ansible.js";
import type { CommandContext } from "../context.js";
import { openAnsibleSession, RunPlaybook } from "../phases/ansible-phases.js";
import type { PhaseContext } from "../phases/phase.js";

export interface HostActions {
  /** `k3s etcd-snapshot save --name NAME` on the first server. */
  snapshot(name: string, ctx: PhaseContext): Promise<void>;
  /** Installs `version` on these nodes (one server, or one batch of agents). */
  upgrade(nodes: readonly string[], version: string, ctx: PhaseContext): Promise<void>;
  /** Where the playbooks' output goes. */
  readonly logFile?: string;
}

export async function ansibleHostActions(ctx: CommandContext): Promise<HostActions> {
  const session = await openAnsibleSession(ctx.cwd, ctx.env, "upgrade", ctx.reporter);
  // The cluster token (vault) is needed by the roles: stop here, before any node is touched.
  await checkVault(session.ansibleDir, session.env, session.cwd, true);
  return {
    logFile: session.logFile,
    snapshot: (name, phaseCtx) =>
      new RunPlaybook(session, {
        title: `etcd snapshot ${name}`,
        playbook: "k3s-etcd-snapshot.yml",
        extraVars: { snapshot_name: name },
      }).run(phaseCtx),
    upgrade: (nodes, version, phaseCtx) =>
      new RunPlaybook(session, {
        title: `upgrade ${nodes.join(", ")}`,
        playbook: "k3s-upgrade.yml",
        limit: () => [...nodes],
        extraVars: { k3s_version: version, upgrade_agent_batch: nodes.length },
      }).run(phaseCtx),
  };
}
