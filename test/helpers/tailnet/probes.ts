/**
 * Probing a port over the tailnet as a real client would, and telling "denied by the policy" apart
 * from "no answer yet". tailscaled sets up an idle peer lazily, so the first packets to it can be
 * lost: an allowed flow is retried until it opens. A denied flow times out at the client whatever
 * happens, so a timeout alone proves nothing; it counts as denied only when the destination's
 * tailscaled counted the packet as dropped by its packet filter
 * (`tailscaled_inbound_dropped_packets_total{reason="acl"}` of `tailscale metrics print`): the
 * packet crossed the mesh and the policy refused it. Without that, the probe is retried, and
 * reported as `timeout` (which no expectation accepts) when the deadline passes.
 */
import { setTimeout as sleep } from "node:timers/promises";

export type Proto = "tcp" | "udp";
/** open: connected (TCP) or echoed (UDP); denied: dropped by the destination's policy; unreachable: no route (not a peer). */
export type FlowState = "open" | "denied" | "unreachable" | "timeout" | "refused" | `error:${string}`;

/**
 * A tailnet device a flow starts or ends at: a mesh member in a network namespace (mesh.ts) or a
 * VM of the hosts tier. What a probe needs of it: its tailscale CLI and one connection attempt.
 */
export interface Peer {
  name: string;
  tailnetIp: string;
  tailscale(args: string[], options?: { check?: boolean }): Promise<string>;
  /** One connection attempt from this device: prints open, refused, timeout, unreachable or error:<code>. */
  attempt(proto: Proto, address: string, port: number, timeoutMs: number): Promise<string>;
}

export interface Flow {
  from: Peer;
  to: Peer;
  proto: Proto;
  port: number;
}

export const label = (f: Flow) => `${f.from.name} -> ${f.to.name} ${f.port}/${f.proto}`;

async function aclDrops(member: Peer): Promise<number> {
  const text = await member.tailscale(["metrics", "print"]);
  const line = text
    .split("\n")
    .find((l) => l.startsWith('tailscaled_inbound_dropped_packets_total{reason="acl"}'));
  return line ? Number(line.trim().split(/\s+/).pop()) : 0;
}

async function attempt(flow: Flow, timeoutMs: number): Promise<string> {
  return (await flow.from.attempt(flow.proto, flow.to.tailnetIp, flow.port, timeoutMs)).trim();
}

/**
 * One flow's state, with the retries a client would make (`budgetMs` in all). `expect` only chooses
 * how long to keep trying: an expected-open flow is retried until it opens, an expected-denied one
 * until the destination has counted a drop; the state returned is always what was observed.
 */
export async function probe(flow: Flow, budgetMs = 30_000, attemptMs = 1_200): Promise<FlowState> {
  const deadline = Date.now() + budgetMs;
  let last: FlowState = "timeout";
  for (;;) {
    const before = await aclDrops(flow.to);
    const seen = await attempt(flow, attemptMs);
    if (seen === "open" || seen === "refused" || seen === "unreachable") return seen;
    if (seen.startsWith("error:")) last = seen as FlowState;
    else if (seen === "timeout") {
      // A dropped SYN or datagram is counted as it arrives; allow the counter a moment.
      await sleep(100);
      if ((await aclDrops(flow.to)) > before) return "denied";
      last = "timeout";
      // Neither connected nor dropped: the packet found no path to the peer yet (its netmap may
      // have just changed with the policy). Bring the direct path up again, as warmPaths does.
      await warmPath(flow.from, flow.to);
    }
    if (Date.now() > deadline) return last;
    await sleep(500);
  }
}

/**
 * Brings up the direct path between every pair that are peers, as `tailscale ping` does (disco, below
 * the packet filter). With no DERP relay here, the first packets to an idle peer have no path until
 * disco finds one, and traffic the policy drops does not prompt it reliably; a real tailnet relays
 * them through DERP meanwhile.
 */
async function warmPaths(flows: Flow[]): Promise<void> {
  const pairs = new Map<string, Flow>();
  for (const flow of flows) pairs.set(`${flow.from.name}>${flow.to.name}`, flow);
  await Promise.all(
    [...pairs.values()].map(async ({ from, to }) => {
      const status = JSON.parse(await from.tailscale(["status", "--json"])) as {
        Peer?: Record<string, { TailscaleIPs?: string[] }>;
      };
      const peer = Object.values(status.Peer ?? {}).some((p) => p.TailscaleIPs?.includes(to.tailnetIp));
      if (peer) await warmPath(from, to);
    }),
  );
}

/** `tailscale ping` until the direct path answers (at most 30 pings); harmless when it is up. */
async function warmPath(from: Peer, to: Peer): Promise<void> {
  await from.tailscale(["ping", "--c", "30", to.tailnetIp], { check: false });
}

/**
 * Probes every flow; flows to one destination run one after another (its drop counter must be
 * attributed to one flow at a time), destinations in parallel.
 */
export async function probeAll(flows: Flow[]): Promise<Record<string, FlowState>> {
  await warmPaths(flows);
  const byDestination = new Map<string, Flow[]>();
  for (const flow of flows)
    byDestination.set(flow.to.name, [...(byDestination.get(flow.to.name) ?? []), flow]);
  const results: Record<string, FlowState> = {};
  await Promise.all(
    [...byDestination.values()].map(async (group) => {
      for (const flow of group) results[label(flow)] = await probe(flow);
    }),
  );
  return Object.fromEntries(flows.map((f) => [label(f), results[label(f)] as FlowState]));
}
