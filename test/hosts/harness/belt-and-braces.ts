/**
 * Belt and braces on the hosts (issue 18): the host firewall decides on tailscale0 even when the
 * tailnet policy lets everything through. The harness's headscale has no policy yet, so it lets every
 * flow through, as a new tailnet does; tailscaled runs with --netfilter-mode=off (the tailscale role),
 * so no ts-input chain accepts tailscale0 ahead of ufw, and a port ufw does not open there is dropped:
 * etcd on the agent, and 9100 (no rule at all) on both. 10250 is the control: the same pair, at the
 * same moment, open. The INPUT chain's policy counter (ufw's default deny) shows the drops are the
 * host's doing, not a lost path. Returns what it saw; the test asserts.
 */
import type { PortState } from "./probes.js";
import { startListener, stopListener, tailscaleIp4, tcpProbe } from "./probes.js";
import type { Vm } from "./vm.js";

export interface HostFirewallOnTailnet {
  /** tailscaled's NetfilterMode per VM (`tailscale debug prefs`: 0 off, 1 no-divert, 2 on). */
  netfilterModes: Record<string, number | undefined>;
  /** Lines of `iptables -S`/`ip6tables -S` naming tailscaled's chains, per VM. */
  tsChains: Record<string, string[]>;
  states: Record<string, PortState>;
  expected: Record<string, PortState>;
  /** The INPUT chain's policy-drop packet counter per VM, before and after the probes. */
  dropped: Record<string, [number, number]>;
}

export async function hostFirewallOnTailnet(server: Vm, agent: Vm): Promise<HostFirewallOnTailnet> {
  const vms = [server, agent];
  const ports: Record<string, number[]> = { [server.name]: [10250, 9100], [agent.name]: [10250, 9100, 2379] };
  const result: HostFirewallOnTailnet = {
    netfilterModes: {},
    tsChains: {},
    states: {},
    expected: {},
    dropped: {},
  };
  const ips: Record<string, string> = {};
  for (const vm of vms) {
    ips[vm.name] = await tailscaleIp4(vm);
    const prefs = JSON.parse((await vm.ssh("tailscale debug prefs")).stdout) as { NetfilterMode?: number };
    result.netfilterModes[vm.name] = prefs.NetfilterMode;
    const rules = (await vm.ssh("iptables -w -S; ip6tables -w -S")).stdout;
    result.tsChains[vm.name] = rules.split("\n").filter((line) => /ts-input|ts-forward/.test(line));
  }
  const dropped = async (vm: Vm) => {
    const head = (await vm.ssh("iptables -w -nvxL INPUT | head -1")).stdout;
    return Number(/policy DROP (\d+) packets/.exec(head)?.[1] ?? Number.NaN);
  };
  for (const vm of vms) for (const port of ports[vm.name] ?? []) await startListener(vm, port);
  try {
    const before = Object.fromEntries(await Promise.all(vms.map(async (vm) => [vm.name, await dropped(vm)])));
    const probes: Array<{ label: string; state: Promise<PortState> }> = [];
    for (const [from, to] of [
      [server, agent],
      [agent, server],
    ] as const) {
      for (const port of ports[to.name] ?? []) {
        const label = `${from.name} -> ${to.name} tailnet :${port}`;
        result.expected[label] = port === 10250 ? "open" : "filtered";
        // Every probe at once (a filtered one waits out its timeout); the open one retried as a client would.
        probes.push({
          label,
          state: tcpProbe(from, ips[to.name] ?? "", port, { attempts: port === 10250 ? 3 : 1 }),
        });
      }
    }
    const states = await Promise.all(probes.map((p) => p.state));
    probes.forEach((p, i) => {
      result.states[p.label] = states[i] as PortState;
    });
    for (const vm of vms) result.dropped[vm.name] = [before[vm.name] as number, await dropped(vm)];
  } finally {
    for (const vm of vms) for (const port of ports[vm.name] ?? []) await stopListener(vm, port);
  }
  return result;
}
