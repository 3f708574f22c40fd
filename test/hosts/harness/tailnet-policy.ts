/**
 * The tailnet policy on the VMs (issue 18, docs/networking.md "The tailnet policy"): a device on the
 * tailnet that is not a cluster node — alice's laptop, a real tailscaled in a network namespace on the
 * VMs' private link (test/helpers/tailnet/mesh.ts) — and the flows the policy generated from cluster.yaml
 * must open or refuse between it and the two nodes, and between the nodes (test/helpers/tailnet/model.ts,
 * the same model as the mesh test of the control-plane tier). The laptop reaches headscale at
 * the same URL the VMs do, so the user's `infra tailnet apply` can run from it (their machine's view).
 */
import { join } from "node:path";
import { type Mesh, startMesh } from "../../helpers/tailnet/mesh.js";
import { TCP, VXLAN } from "../../helpers/tailnet/model.js";
import { HEADSCALE_GUEST_PORT, HOST_SERVICES_IP } from "./image.js";
import type { Testbed } from "./testbed.js";

/** The headscale user whose untagged device the laptop is; `alice@` in cluster.yaml's admins. */
export const LAPTOP_USER = "alice";
export const LAPTOP = "laptop";

/** The cluster's TCP ports probed over the tailnet (etcd's peer port and 443 are the mesh test's), and SSH. */
export const PROBED_TCP = [TCP.etcdClient, TCP.api, TCP.kubelet, TCP.ssh];
/** What the VMs listen on for the probes (as K3s would); 22 is sshd. */
export const LISTEN = { tcp: [TCP.etcdClient, TCP.api, TCP.kubelet], udp: [VXLAN] };

/** Starts the laptop on the link and joins it to headscale as alice's untagged device. */
export async function startLaptop(bed: Testbed): Promise<{ mesh: Mesh; authKey: string }> {
  await bed.headscale.createUser(LAPTOP_USER);
  const authKey = await bed.headscale.createAuthKey([], { user: LAPTOP_USER });
  const mesh = await startMesh(
    join(bed.dir, LAPTOP),
    bed.headscale.port,
    [{ name: LAPTOP, authKey }],
    { tcp: [], udp: [] },
    {
      link: bed.link.namespace,
      // Past the VMs' link addresses (203.0.113.11 and up).
      firstHost: 50,
      control: { address: HOST_SERVICES_IP, port: HEADSCALE_GUEST_PORT },
    },
  );
  return { mesh, authKey };
}
