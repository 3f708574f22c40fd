/** `infra node add NAME`: bootstrap one host and join it as a server or an agent (seed join-node.sh). */
import {
  type AnsibleSession,
  bootstrapPhase,
  CheckRendered,
  CheckVault,
  layersPreflight,
  ReadInventory,
  RunPlaybook,
} from "./ansible-phases.js";
import { NODE_LAYERS } from "./cluster-init.js";
import { allLayers, inLayer, type LayerSelection } from "./layers.js";
import type { Phase } from "./phase.js";

export function nodeAddPhases(
  session: AnsibleSession,
  name: string,
  config?: string,
  layers: LayerSelection = allLayers(NODE_LAYERS),
): Phase[] {
  const only = () => [name];
  return [
    new CheckRendered(session, config),
    new ReadInventory(session, name),
    new CheckVault(session, true),
    ...layersPreflight(session, layers, { joinsFirstServer: true, limit: only }),
    bootstrapPhase(session, layers, name),
    inLayer(
      "k3s",
      layers,
      new RunPlaybook(session, {
        title: `Join ${name} to the cluster`,
        // A server joins through k3s-master.yml, an agent through k3s-worker.yml (by its inventory group).
        playbook: (s) => (s.target?.role === "server" ? "k3s-master.yml" : "k3s-worker.yml"),
        limit: only,
      }),
    ),
  ];
}
