/**
 * The flows the tailnet policy generated from cluster.yaml must open or refuse (the model of
 * docs/networking.md, "The tailnet policy"), for the mesh tests of both tiers: servers reach the
 * servers' etcd and API, agents the servers' API, every node every kubelet and VXLAN; admins reach
 * the servers' API and SSH on every node; a device no rule names is no node's peer at all.
 */
import type { Flow, FlowState, Peer } from "./probes.js";

export const TCP = { etcdClient: 2379, etcdPeer: 2380, api: 6443, kubelet: 10250, ssh: 22, https: 443 };
export const VXLAN = 8472;

/** A device's part, by its name: server-…, agent-…, anything else is a device that is not a node. */
export const roleOf = (peer: Peer) =>
  peer.name.startsWith("server") ? "server" : peer.name.startsWith("agent") ? "agent" : "device";

/** The TCP ports given (all of TCP by default) and VXLAN, from each source to each other destination. */
export function flowsBetween(
  sources: Peer[],
  destinations: Peer[],
  tcpPorts: readonly number[] = Object.values(TCP),
): Flow[] {
  const flows: Flow[] = [];
  for (const from of sources)
    for (const to of destinations) {
      if (from === to) continue;
      for (const port of tcpPorts) flows.push({ from, to, proto: "tcp", port });
      flows.push({ from, to, proto: "udp", port: VXLAN });
    }
  return flows;
}

/** What the policy gives the flow; `admins`: the devices that are not nodes are admins. */
export function expectedFlow(flow: Flow, admins: boolean): FlowState {
  const from = roleOf(flow.from);
  const to = roleOf(flow.to);
  if (from === "device" && !admins) return "unreachable";
  if (flow.proto === "udp") return from !== "device" ? "open" : "denied";
  if (from === "device") {
    if (flow.port === TCP.ssh) return "open";
    if (flow.port === TCP.api && to === "server") return "open";
    return "denied";
  }
  if (flow.port === TCP.kubelet) return "open";
  if (flow.port === TCP.api && to === "server") return "open";
  if ((flow.port === TCP.etcdClient || flow.port === TCP.etcdPeer) && from === "server" && to === "server")
    return "open";
  return "denied";
}
