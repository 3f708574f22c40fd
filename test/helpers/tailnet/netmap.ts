/**
 * Waiting until a policy headscale took is the one every node enforces. headscale stores a policy
 * and answers the API at once, then pushes each node its new map (peers and packet filter)
 * asynchronously; a probe sent in between meets the old policy (a flow the new one opens is still
 * dropped, a new peer is not one yet). So a test waits for the condition itself, not for a delay:
 * every member's own network map (`tailscale debug netmap`) holds exactly the packet filter and the
 * peers headscale's policy in force gives it.
 *
 * What headscale gives a node is derived from its global filter (`/debug/filter` on its debug
 * listener) as headscale does for a policy without per-node grants (autogroup:self, via) or
 * capability grants: the rules with their destinations narrowed to those holding one of the node's
 * addresses, rules left with none dropped (policyutil.ReduceFilterRules), and as peers the nodes
 * that a rule lets reach this one or this one reach. A rule outside that subset is refused here
 * rather than guessed at.
 */
import { BlockList, isIPv6 } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import type { Peer } from "./probes.js";

/** tailcfg.FilterRule as both headscale and tailscaled print it. */
export interface FilterRule {
  SrcIPs: string[];
  SrcBits?: number[];
  DstPorts?: Array<{ IP: string; Bits?: number; Ports: { First: number; Last: number } }>;
  IPProto?: number[];
  CapGrant?: unknown[];
}

/** The packet filter headscale's policy in force compiles to, from its debug listener (`/debug/filter`). */
export async function headscaleFilter(debugUrl: string): Promise<FilterRule[]> {
  const response = await fetch(`${debugUrl}/debug/filter`);
  if (!response.ok) throw new Error(`headscale's /debug/filter: ${response.status} ${await response.text()}`);
  return ((await response.json()) as FilterRule[] | null) ?? [];
}

interface NodeMap {
  addresses: string[];
  filter: FilterRule[];
  peers: string[][];
}

const family = (address: string) => (isIPv6(address) ? "ipv6" : "ipv4");

/** An IP set in the filter's notation: `*`, an address, a CIDR prefix or a range `a-b`. */
function ipSet(entries: readonly string[]): BlockList {
  const set = new BlockList();
  for (const entry of entries) {
    if (entry === "*") {
      set.addSubnet("0.0.0.0", 0, "ipv4");
      set.addSubnet("::", 0, "ipv6");
    } else if (entry.includes("-")) {
      const [first = "", last = ""] = entry.split("-");
      set.addRange(first, last, family(first));
    } else if (entry.includes("/")) {
      const [address = "", bits = ""] = entry.split("/");
      set.addSubnet(address, Number(bits), family(address));
    } else set.addAddress(entry, family(entry));
  }
  return set;
}

const holdsAny = (set: BlockList, addresses: readonly string[]) =>
  addresses.some((address) => set.check(address, family(address)));

/** The packet filter headscale sends the node with these addresses (its ReduceFilterRules). */
export function filterFor(global: readonly FilterRule[], addresses: readonly string[]): FilterRule[] {
  const reduced: FilterRule[] = [];
  for (const rule of global) {
    if ((rule.CapGrant?.length ?? 0) > 0 || (rule.SrcBits?.length ?? 0) > 0)
      throw new Error(`a filter rule this wait cannot derive per node: ${JSON.stringify(rule)}`);
    const dests = (rule.DstPorts ?? []).filter((dest) => holdsAny(ipSet([dest.IP]), addresses));
    if (dests.length > 0) reduced.push({ ...rule, DstPorts: dests });
  }
  return reduced;
}

/** Whether a rule lets `from` reach `to` on some port: what makes two nodes peers. */
function reaches(global: readonly FilterRule[], from: readonly string[], to: readonly string[]): boolean {
  return global.some(
    (rule) =>
      holdsAny(ipSet(rule.SrcIPs), from) && (rule.DstPorts ?? []).some((d) => holdsAny(ipSet([d.IP]), to)),
  );
}

async function nodeMap(member: Peer): Promise<NodeMap> {
  const raw = JSON.parse(await member.tailscale(["debug", "netmap"])) as {
    SelfNode?: { Addresses?: string[] };
    PacketFilterRules?: FilterRule[] | null;
    Peers?: Array<{ Addresses?: string[] }> | null;
  };
  const bare = (prefixes: readonly string[] = []) => prefixes.map((p) => p.split("/")[0] ?? p);
  return {
    addresses: bare(raw.SelfNode?.Addresses),
    filter: raw.PacketFilterRules ?? [],
    peers: (raw.Peers ?? []).map((peer) => bare(peer.Addresses)),
  };
}

/** What differs between one member's map and what the global filter gives it; undefined when nothing. */
function mismatch(
  global: readonly FilterRule[],
  member: Peer,
  maps: ReadonlyMap<Peer, NodeMap>,
): string | undefined {
  const own = maps.get(member) as NodeMap;
  const expectedFilter = filterFor(global, own.addresses);
  if (!isDeepStrictEqual(own.filter, expectedFilter))
    return `${member.name}: packet filter ${JSON.stringify(own.filter)}, headscale's policy gives ${JSON.stringify(expectedFilter)}`;
  const name = (addresses: readonly string[]) =>
    [...maps].find(([, m]) => m.addresses.some((a) => addresses.includes(a)))?.[0].name ??
    addresses.join(",");
  const expectedPeers = [...maps]
    .filter(([other]) => other !== member)
    .filter(
      ([, m]) => reaches(global, m.addresses, own.addresses) || reaches(global, own.addresses, m.addresses),
    )
    .map(([other]) => other.name)
    .sort();
  const peers = own.peers.map(name).sort();
  if (!isDeepStrictEqual(peers, expectedPeers))
    return `${member.name}: peers [${peers.join(", ")}], headscale's policy gives [${expectedPeers.join(", ")}]`;
  return undefined;
}

/**
 * Resolves once every member's network map holds the packet filter and the peers that headscale's
 * policy in force gives it, with the differences the first read found (none: it was there already);
 * throws with the last difference seen after `timeoutMs`.
 */
export async function awaitPolicyOnNodes(
  globalFilter: () => Promise<FilterRule[]>,
  members: readonly Peer[],
  timeoutMs = 60_000,
): Promise<{ reads: number; firstDifferences: string[] }> {
  const deadline = Date.now() + timeoutMs;
  let firstDifferences: string[] | undefined;
  for (let reads = 1; ; reads++) {
    const global = await globalFilter();
    const maps = new Map(await Promise.all(members.map(async (m) => [m, await nodeMap(m)] as const)));
    const differences = members.map((m) => mismatch(global, m, maps)).filter((d) => d !== undefined);
    firstDifferences ??= differences;
    // Read again: a filter that changed while the maps were read proves nothing either way.
    if (differences.length === 0 && isDeepStrictEqual(await globalFilter(), global))
      return { reads, firstDifferences };
    if (Date.now() > deadline)
      throw new Error(
        `the policy in force on headscale did not reach every node within ${timeoutMs / 1000} s: ${differences.join("; ")}`,
      );
    await sleep(250);
  }
}
