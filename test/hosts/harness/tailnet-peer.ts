/**
 * A hosts-tier VM as a tailnet device for the mesh probes (test/helpers/tailnet/probes.ts): its
 * tailscale CLI over SSH and connection attempts by the guest's probe endpoint (guest-endpoint.ts).
 */
import type { Peer } from "../../helpers/tailnet/probes.js";
import { guestAttempt } from "./guest-endpoint.js";
import { tailscaleIp4 } from "./probes.js";
import type { Vm } from "./vm.js";

export async function vmPeer(vm: Vm): Promise<Peer> {
  return {
    name: vm.name,
    tailnetIp: await tailscaleIp4(vm),
    tailscale: async (args, options = {}) =>
      (await vm.ssh(["tailscale", ...args].join(" "), { check: options.check ?? true })).stdout,
    attempt: (proto, address, port, timeoutMs) => guestAttempt(vm, proto, address, port, timeoutMs),
  };
}
