/** `infra cluster init`: bootstrap every host, then install the first K3s server (seed init-cluster.sh). */
import {
  type AnsibleSession,
  bootstrapPhase,
  CheckRendered,
  CheckVault,
  layersPreflight,
  ReadInventory,
  RunPlaybook,
} from "./ansible-phases.js";
import { allLayers, inLayer, type LayerSelection } from "./layers.js";
import type { Phase } from "./phase.js";

/** The layers of cluster init and node add: the host layer, then K3s. */
export const NODE_LAYERS = ["hosts", "k3s"] as const;

export function clusterInitPhases(
  session: AnsibleSession,
  config?: string,
  layers: LayerSelection = allLayers(NODE_LAYERS),
): Phase[] {
  const first = (s: AnsibleSession) => (s.firstServer ? [s.firstServer] : undefined);
  return [
    new CheckRendered(session, config),
    new ReadInventory(session),
    new CheckVault(session, true),
    ...layersPreflight(session, layers),
    bootstrapPhase(session, layers),
    inLayer(
      "k3s",
      layers,
      new RunPlaybook(session, {
        title: "Install the first K3s server",
        playbook: "k3s-master.yml",
        limit: first,
      }),
    ),
  ];
}
