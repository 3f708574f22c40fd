/** `infra node remove NAME`: drain the node, delete it from Kubernetes (kubectl on a remaining server), uninstall K3s. */
import {
  type AnsibleSession,
  CheckRendered,
  CheckVault,
  ReadInventory,
  RunPlaybook,
} from "./ansible-phases.js";
import type { Phase } from "./phase.js";

export function nodeRemovePhases(session: AnsibleSession, name: string, config?: string): Phase[] {
  return [
    new CheckRendered(session, config),
    new ReadInventory(session, name),
    new CheckVault(session, false),
    new RunPlaybook(session, {
      title: `Drain ${name}, delete its Node and uninstall K3s`,
      playbook: "k3s-node-remove.yml",
      limit: () => [name],
    }),
  ];
}
