/** `infra cluster init`: bootstrap every host, then install the first K3s server (seed init-cluster.sh). */
import {
  type AnsibleSession,
  CheckRendered,
  CheckVault,
  preflightPhase,
  ReadInventory,
  RunPlaybook,
} from "./ansible-phases.js";
import type { Phase } from "./phase.js";

export function clusterInitPhases(session: AnsibleSession, config?: string): Phase[] {
  const first = (s: AnsibleSession) => (s.firstServer ? [s.firstServer] : undefined);
  return [
    new CheckRendered(session, config),
    new ReadInventory(session),
    new CheckVault(session, true),
    preflightPhase(session, { tailscaleKey: true, k3sToken: true, firstServer: false }),
    new RunPlaybook(session, {
      title: "Bootstrap every host (common, firewall, tailscale)",
      playbook: "bootstrap.yml",
    }),
    new RunPlaybook(session, {
      title: "Install the first K3s server",
      playbook: "k3s-master.yml",
      limit: first,
    }),
  ];
}
