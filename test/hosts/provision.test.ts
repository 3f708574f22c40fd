/**
 * Host tier (docs/testing.md): the real playbooks — bootstrap.yml (common, firewall, tailscale) and
 * the k3s_prereq role — against two fresh Debian 12 VMs under QEMU software emulation, joined by a
 * private link on loopback (their "public internet") and by a real Tailscale mesh coordinated by a
 * local headscale. Run 1 is interrupted for the agent (its network is cut after the run started)
 * and must complete for the server; run 2, for the agent alone once it is back (overlapping the end
 * of run 1), must converge it; run 3, on both, must change nothing. Then each host is inspected.
 * Last, runs 4 and 5 of the firewall role switch the hosts to cluster.yaml's ingress.mode tunnel
 * (80/443 denied on the public link) and back to public.
 *
 * Requires root (debootstrap, QEMU), and the tools of tools/versions.yaml: `./infra tools install`.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { TIER_TIMEOUT_MS } from "../helpers/timeouts.js";
import { describeRun, type PlaybookRun } from "./harness/ansible.js";
import { hostFirewallOnTailnet } from "./harness/belt-and-braces.js";
import { startCluster, type TestCluster, tailscaleIpFacts } from "./harness/cluster.js";
import {
  type PortState,
  passwordLogin,
  sshdEffective,
  startListener,
  stopListener,
  tailscaleIp4,
  tailscaleStatus,
  tcpProbe,
} from "./harness/probes.js";

const SERVER = "server-1";
const AGENT = "agent-1";
/** The guest interface of the private link, which plays the public internet between the VPSs. */
const LINK = "eth1";
/**
 * cluster.yaml's ingress.mode: tunnel as `infra configure` renders it for these hosts: the mode, and no
 * ingress node. The public interface is named because the VMs' default route (eth0) is QEMU's user
 * network, not the link; on a VPS the default route's interface is the public one (the role's default).
 */
const TUNNEL_MODE = { ingress_mode: "tunnel", node_ingress: false, firewall_public_interface: LINK };
const log = (line: string) => console.log(`[hosts] ${line}`);
/** One test awaits one playbook run (stopped after PLAYBOOK_TIMEOUT_MS) and its checks. */
const RUN_TIMEOUT = TIER_TIMEOUT_MS.hosts;

let cluster: TestCluster;
let failed = false;
const runs: Record<string, PlaybookRun> = {};
/** The agent's re-run after the fault, started by run 1 as soon as it gives the agent up. */
let recovery: Promise<PlaybookRun> | undefined;

async function reRunAgentOnceBack(): Promise<PlaybookRun> {
  const agent = cluster.vm(AGENT);
  await agent.setLink("net0", true);
  await agent.waitForSsh(120_000);
  return cluster.run("2-recovery", { limit: AGENT });
}

beforeAll(async () => {
  cluster = await startCluster({ log });
});

afterEach(({ task }) => {
  if (task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  if (!cluster) return;
  await recovery?.catch(() => undefined);
  for (const [label, run] of Object.entries(runs)) {
    log(
      `run ${label}: ${run.seconds.toFixed(0)}s total; per VM: ${Object.entries(run.hostSeconds)
        .map(([h, s]) => `${h} ${s.toFixed(0)}s`)
        .join(", ")}`,
    );
  }
  log(`apt proxy: ${JSON.stringify(cluster.aptProxy.stats)}`);
  if (failed) log(`artifacts kept in ${await cluster.keepArtifacts("provision")}`);
  await cluster.stop();
});

describe("hosts: bootstrap.yml + k3s_prereq on emulated Debian 12 VMs over a real Tailscale mesh", () => {
  it("starts from a fresh-VPS image: password login possible, swap in use, no firewall", async () => {
    for (const vm of cluster.vms) {
      const login = await passwordLogin(vm, cluster.rootPassword, cluster.dir);
      expect(login.exitCode, `${vm.name}: password login before hardening: ${login.stderr}`).toBe(0);
      expect((await vm.ssh("swapon --show=NAME --noheadings")).stdout).toContain("/swapfile");
      expect((await vm.ssh("command -v ufw || echo none")).stdout.trim()).toBe("none");
      expect((await vm.ssh("command -v tailscale || echo none")).stdout.trim()).toBe("none");
    }
  });

  it(
    "fault: the agent made unreachable after the run starts fails clearly while the server completes",
    async () => {
      const agent = cluster.vm(AGENT);
      let cut = false;
      const run = await cluster.run("1-fault", {
        onLine: (line) => {
          // Cut the agent's network while the run leaves work half done on it: its sshd drop-in has
          // just changed (the full configuration check runs only then), and the reload is a handler,
          // which a host that drops out never runs.
          if (!cut && /^TASK \[common : Check the full sshd configuration\]/.test(line)) {
            cut = true;
            log(`cutting ${AGENT}'s network at: ${line}`);
            void agent.setLink("net0", false);
          }
          // Once the run has given the agent up, bring it back and re-run for it alone, as an operator
          // would, while the server's run goes on: runs on disjoint hosts do not interfere, and the
          // overlap saves the tier minutes. The next test awaits the re-run.
          if (cut && !recovery && line.startsWith(`fatal: [${AGENT}]: UNREACHABLE`)) {
            recovery = reRunAgentOnceBack();
            recovery.catch(() => undefined);
          }
        },
      });
      runs["1-fault"] = run;
      log(describeRun(run));
      expect(cut, "the fault was injected (the sshd configuration check started)").toBe(true);
      expect(run.exitCode, describeRun(run)).not.toBe(0);
      expect(run.recap[AGENT]?.unreachable, describeRun(run)).toBe(1);
      expect(run.failures[AGENT]?.unreachable).toBe(true);
      expect(run.failures[AGENT]?.message).toMatch(/UNREACHABLE/);
      // Half done: the drop-in changed, sshd was not reloaded.
      expect(run.changedTasks[AGENT]).toContain("common : Ensure the sshd hardening drop-in is present");
      expect(run.changedTasks[AGENT]).not.toContain("handler: common : Reload sshd");
      expect(run.recap[SERVER]?.failed, describeRun(run)).toBe(0);
      expect(run.recap[SERVER]?.unreachable, describeRun(run)).toBe(0);
      // The server went through every play, including the prerequisites and the fact report.
      expect(tailscaleIpFacts(run)[SERVER]).toMatch(/^100\./);
      expect(tailscaleIpFacts(run)[AGENT]).toBeUndefined();
    },
    RUN_TIMEOUT,
  );

  it(
    "a re-run for the agent once it is back converges it, reloading the sshd the cut run left stale",
    async () => {
      expect(recovery, "the agent's re-run was started when run 1 gave it up").toBeDefined();
      const run = await (recovery as Promise<PlaybookRun>);
      runs["2-recovery"] = run;
      log(describeRun(run));
      expect(run.exitCode, describeRun(run)).toBe(0);
      expect(run.recap[AGENT]?.failed, describeRun(run)).toBe(0);
      expect(run.recap[AGENT]?.unreachable, describeRun(run)).toBe(0);
      expect(run.recap[AGENT]?.changed, "the agent still had work to do").toBeGreaterThan(0);
      expect(run.changedTasks[AGENT]).toContain("handler: common : Reload sshd");
    },
    RUN_TIMEOUT,
  );

  it(
    "a re-run after both hosts have converged changes nothing",
    async () => {
      const run = await cluster.run("3-idempotence");
      runs["3-idempotence"] = run;
      log(describeRun(run));
      expect(run.exitCode, describeRun(run)).toBe(0);
      expect(run.changedTasks, "tasks that reported changed on the re-run").toEqual({});
      for (const host of [SERVER, AGENT]) {
        expect(run.recap[host]?.changed, host).toBe(0);
        expect(run.recap[host]?.failed, host).toBe(0);
      }
    },
    RUN_TIMEOUT,
  );

  it("sshd: password and keyboard-interactive login off, root by key only", async () => {
    for (const vm of cluster.vms) {
      const sshd = await sshdEffective(vm);
      expect(sshd.passwordauthentication, vm.name).toBe("no");
      expect(sshd.kbdinteractiveauthentication, vm.name).toBe("no");
      expect(["without-password", "prohibit-password"], vm.name).toContain(sshd.permitrootlogin);
      expect(sshd.pubkeyauthentication, vm.name).toBe("yes");
    }
  });

  it("an SSH password login attempt is refused", async () => {
    for (const vm of cluster.vms) {
      const login = await passwordLogin(vm, cluster.rootPassword, cluster.dir);
      expect(login.exitCode, vm.name).not.toBe(0);
      expect(login.stderr, vm.name).toMatch(/Permission denied \(publickey\)/);
    }
  });

  it("the firewall rules are the designed ones", async () => {
    for (const vm of cluster.vms) {
      const isServer = vm.name === SERVER;
      const status = (await vm.ssh("ufw status verbose")).stdout;
      expect(status).toMatch(/Status: active/);
      expect(status).toMatch(/Default: deny \(incoming\), allow \(outgoing\), allow \(routed\)/);
      const rules = ufwRules(status);
      const expected = designedRules(isServer, "public");
      expect(new Set(rules.v4), `${vm.name} IPv4 rules:\n${status}`).toEqual(new Set(expected));
    }
  });

  it("the peers reach each other directly: WireGuard over UDP 41641 on the private link", async () => {
    // No DERP relay exists here, so a working path between the peers is a direct one, through both
    // firewalls. An idle path takes a few disco pings to come up; `tailscale ping` waits for it.
    const link = Object.fromEntries(cluster.nodes.map((n) => [n.name, n.publicIp]));
    for (const [from, to] of [
      [SERVER, AGENT],
      [AGENT, SERVER],
    ] as const) {
      const ip = await tailscaleIp4(cluster.vm(to));
      const ping = await cluster.vm(from).ssh(`tailscale ping --c 20 ${ip}`, { check: false });
      expect(ping.stdout, `${from} -> ${to}: ${ping.stderr}`).toMatch(
        new RegExp(`pong from ${to} .* via ${link[to]?.replace(/\./g, "\\.")}:41641`),
      );
      // And the WireGuard data plane carries packets (disco pings do not go through it).
      // Three replies within 60 s: the first packets to an idle peer wait for tailscaled to configure
      // it and for its WireGuard handshake (usually a few seconds; once, on 2026-11-26, more than 30).
      const icmp = await cluster.vm(from).ssh(`ping -c 3 -w 60 ${ip}`, { check: false });
      log(`${from} -> ${to} ICMP over the tailnet: ${icmp.stdout.trim().split("\n").slice(-2).join("; ")}`);
      expect(icmp.exitCode, `${from} -> ${to} ICMP over the tailnet:\n${icmp.stdout}`).toBe(0);
    }
  });

  it("6443 and 10250 answer over Tailscale but not over the private link; SSH stays open on it", async () => {
    const server = cluster.vm(SERVER);
    const agent = cluster.vm(AGENT);
    const ips: Record<string, string> = {
      [SERVER]: await tailscaleIp4(server),
      [AGENT]: await tailscaleIp4(agent),
    };
    const link = Object.fromEntries(cluster.nodes.map((n) => [n.name, n.publicIp]));
    for (const vm of cluster.vms) for (const port of [6443, 10250]) await startListener(vm, port);
    try {
      // Every probe at once: a filtered one waits out its whole timeout.
      const probes: Array<{ label: string; expected: PortState; state: Promise<PortState> }> = [];
      const probe = (label: string, expected: PortState, state: Promise<PortState>) =>
        probes.push({ label, expected, state });
      for (const [from, to] of [
        [server, agent],
        [agent, server],
      ] as const) {
        const ip = ips[to.name] ?? "";
        const linkIp = link[to.name] ?? "";
        for (const port of [6443, 10250]) {
          probe(
            `${from.name} -> ${to.name} tailnet :${port}`,
            "open",
            tcpProbe(from, ip, port, { attempts: 3 }),
          );
          probe(`${from.name} -> ${to.name} link :${port}`, "filtered", tcpProbe(from, linkIp, port));
          // The listener does listen on the link address: the block is the firewall's doing.
          probe(`${to.name} local :${port}`, "open", tcpProbe(to, linkIp, port));
        }
        probe(`${from.name} -> ${to.name} link :22`, "open", tcpProbe(from, linkIp, 22));
      }
      const states = await Promise.all(probes.map((p) => p.state));
      expect(
        Object.fromEntries(probes.map((p, i) => [p.label, states[i]])),
        "port states (probe -> answer)",
      ).toEqual(Object.fromEntries(probes.map((p) => [p.label, p.expected])));
    } finally {
      for (const vm of cluster.vms) for (const port of [6443, 10250]) await stopListener(vm, port);
    }
  });

  it("belt and braces: the tailnet lets everything through (the harness's policy), yet ufw decides on tailscale0", async () => {
    const seen = await hostFirewallOnTailnet(cluster.vm(SERVER), cluster.vm(AGENT));
    expect(seen.netfilterModes, "tailscaled's netfilter mode per VM (0 = off)").toEqual({
      [SERVER]: 0,
      [AGENT]: 0,
    });
    expect(seen.tsChains, "ts-input/ts-forward chains per VM").toEqual({ [SERVER]: [], [AGENT]: [] });
    expect(seen.states, "port states over the tailnet (probe -> answer)").toEqual(seen.expected);
    // "filtered" is the host's doing, not a lost path: each host's default deny counted the SYNs.
    for (const [vm, [before, after]] of Object.entries(seen.dropped))
      expect(after, `${vm}: packets ufw dropped (before: ${before})`).toBeGreaterThan(before);
  });

  it("tailscale status shows the peer", async () => {
    for (const [self, peer] of [
      [SERVER, AGENT],
      [AGENT, SERVER],
    ] as const) {
      const status = await tailscaleStatus(cluster.vm(self));
      expect(status.BackendState).toBe("Running");
      expect(status.Self.HostName).toBe(self);
      const peers = Object.values(status.Peer ?? {});
      const found = peers.find((p) => p.HostName === peer);
      expect(found, `${self} sees ${peer}: ${JSON.stringify(peers)}`).toBeDefined();
      expect(found?.TailscaleIPs).toContain(await tailscaleIp4(cluster.vm(peer)));
    }
  });

  it("swap is off and gone from fstab", async () => {
    for (const vm of cluster.vms) {
      expect((await vm.ssh("swapon --show --noheadings")).stdout.trim(), vm.name).toBe("");
      const fstab = (await vm.ssh("cat /etc/fstab")).stdout;
      const active = fstab.split("\n").filter((l) => !l.trim().startsWith("#") && /\sswap\s/.test(l));
      expect(active, `${vm.name} /etc/fstab`).toEqual([]);
    }
  });

  it("br_netfilter and overlay are loaded and persisted", async () => {
    for (const vm of cluster.vms) {
      const lsmod = (await vm.ssh("lsmod")).stdout;
      const persisted = (await vm.ssh("cat /etc/modules-load.d/*.conf")).stdout;
      for (const module of ["br_netfilter", "overlay"]) {
        expect(lsmod, `${vm.name}: ${module} loaded`).toMatch(new RegExp(`^${module}\\s`, "m"));
        expect(persisted, `${vm.name}: ${module} in /etc/modules-load.d`).toMatch(
          new RegExp(`^${module}$`, "m"),
        );
      }
    }
  });

  it("the kernel parameters are set and persisted", async () => {
    const expected: Record<string, (v: number) => boolean> = {
      "net.ipv4.ip_forward": (v) => v === 1,
      "net.bridge.bridge-nf-call-iptables": (v) => v === 1,
      "net.bridge.bridge-nf-call-ip6tables": (v) => v === 1,
      "fs.inotify.max_user_instances": (v) => v >= 1024,
      "fs.inotify.max_user_watches": (v) => v >= 524288,
      // The kubelet's protect-kernel-defaults (CIS) set.
      "vm.panic_on_oom": (v) => v === 0,
      "vm.overcommit_memory": (v) => v === 1,
      "kernel.panic": (v) => v === 10,
      "kernel.panic_on_oops": (v) => v === 1,
    };
    for (const vm of cluster.vms) {
      const out = (await vm.ssh(`sysctl ${Object.keys(expected).join(" ")}`)).stdout;
      const persisted = (await vm.ssh("cat /etc/sysctl.d/90-k3s.conf /etc/sysctl.d/90-kubelet.conf")).stdout;
      for (const [key, ok] of Object.entries(expected)) {
        const m = new RegExp(`^${key.replace(/\./g, "\\.")} = (\\d+)`, "m").exec(out);
        expect(m, `${vm.name}: ${key} in:\n${out}`).not.toBeNull();
        expect(ok(Number(m?.[1])), `${vm.name}: ${key} = ${m?.[1]}`).toBe(true);
        expect(persisted, `${vm.name}: ${key} persisted in /etc/sysctl.d`).toContain(`${key} = ${m?.[1]}`);
      }
    }
  });

  it("the tailscale_ip fact equals `tailscale ip -4`", async () => {
    const facts = tailscaleIpFacts(runs["3-idempotence"] as PlaybookRun);
    for (const vm of cluster.vms) {
      expect(facts[vm.name], vm.name).toBe(await tailscaleIp4(vm));
      expect(facts[vm.name]).toMatch(/^100\.\d+\.\d+\.\d+$/);
    }
  });

  // Last, because they change the firewall: ingress.mode tunnel, then back to public (the runbook
  // docs/runbooks/switch-to-tunnel.md goes both ways). Only the firewall role runs, to keep the
  // tier's time: the mode changes nothing else on a host.
  it(
    "tunnel mode: 80/443 are denied on the public link of every host and a listener on them is unreachable",
    async () => {
      const run = await cluster.run("4-tunnel", { playbook: await firewallOnly(), extraVars: TUNNEL_MODE });
      runs["4-tunnel"] = run;
      log(describeRun(run));
      expect(run.exitCode, describeRun(run)).toBe(0);
      for (const vm of cluster.vms) {
        const status = (await vm.ssh("ufw status verbose")).stdout;
        expect(new Set(ufwRules(status).v4), `${vm.name} IPv4 rules:\n${status}`).toEqual(
          new Set(designedRules(vm.name === SERVER, "tunnel")),
        );
      }
      const server = cluster.vm(SERVER);
      const linkIp = cluster.nodes.find((n) => n.name === SERVER)?.publicIp ?? "";
      for (const port of [80, 443]) await startListener(server, port);
      try {
        const states = Object.fromEntries(
          await Promise.all(
            [80, 443].flatMap((port) => [
              tcpProbe(cluster.vm(AGENT), linkIp, port).then((s) => [
                `${AGENT} -> ${SERVER} link :${port}`,
                s,
              ]),
              // The listener does listen on the link address: the block is the firewall's doing.
              tcpProbe(server, linkIp, port).then((s) => [`${SERVER} local :${port}`, s]),
            ]),
          ),
        );
        expect(states, "port states in tunnel mode").toEqual({
          [`${AGENT} -> ${SERVER} link :80`]: "filtered",
          [`${AGENT} -> ${SERVER} link :443`]: "filtered",
          [`${SERVER} local :80`]: "open",
          [`${SERVER} local :443`]: "open",
        });
      } finally {
        for (const port of [80, 443]) await stopListener(server, port);
      }
    },
    RUN_TIMEOUT,
  );

  it(
    "back to public mode: the deny rules are gone, the ingress node serves 80/443 again",
    async () => {
      // the host's public interface is a fact of the host, the same in both runs (these VMs have no
      // default route to find it from, so both runs name it)
      const run = await cluster.run("5-public-again", {
        playbook: await firewallOnly(),
        extraVars: { firewall_public_interface: LINK },
      });
      runs["5-public-again"] = run;
      log(describeRun(run));
      expect(run.exitCode, describeRun(run)).toBe(0);
      for (const vm of cluster.vms) {
        const status = (await vm.ssh("ufw status verbose")).stdout;
        const rules = ufwRules(status);
        expect(new Set(rules.v4), `${vm.name} IPv4 rules:\n${status}`).toEqual(
          new Set(designedRules(vm.name === SERVER, "public")),
        );
        expect(
          rules.v6.filter((r) => r.includes("DENY")),
          `${vm.name} IPv6 deny rules left`,
        ).toEqual([]);
      }
      const server = cluster.vm(SERVER);
      const linkIp = cluster.nodes.find((n) => n.name === SERVER)?.publicIp ?? "";
      await startListener(server, 443);
      try {
        expect(await tcpProbe(cluster.vm(AGENT), linkIp, 443, { attempts: 3 })).toBe("open");
      } finally {
        await stopListener(server, 443);
      }
    },
    RUN_TIMEOUT,
  );
});

/** A playbook of the firewall role alone, as bootstrap.yml runs it (written once into the test's folder). */
async function firewallOnly(): Promise<string> {
  const path = join(cluster.dir, "firewall-only.yml");
  const play = {
    name: "The firewall role alone (bootstrap.yml's part that follows ingress.mode)",
    hosts: "k3s_cluster",
    become: true,
    // The role reads os_family only (its public interface is given in tunnel mode).
    gather_subset: ["!all", "!min", "distribution"],
    roles: ["firewall"],
  };
  await writeFile(path, `---\n${stringify([play])}`);
  return path;
}

/**
 * The designed IPv4 ufw rules of a host. The server is the ingress node in public mode; in tunnel mode
 * (cluster.yaml ingress.mode: tunnel) no node is one, and 80/443 are denied on the public link.
 */
function designedRules(isServer: boolean, mode: "public" | "tunnel"): string[] {
  return [
    "22/tcp ALLOW IN Anywhere",
    "22/tcp on tailscale0 ALLOW IN Anywhere",
    "41641/udp ALLOW IN Anywhere",
    "6443/tcp on tailscale0 ALLOW IN Anywhere",
    "10250/tcp on tailscale0 ALLOW IN Anywhere",
    "8472/udp on tailscale0 ALLOW IN Anywhere",
    ...(isServer ? ["2379:2380/tcp on tailscale0 ALLOW IN Anywhere"] : []),
    "Anywhere ALLOW IN 10.42.0.0/16",
    "Anywhere ALLOW IN 10.43.0.0/16",
    ...(mode === "tunnel"
      ? [`80/tcp on ${LINK} DENY IN Anywhere`, `443/tcp on ${LINK} DENY IN Anywhere`]
      : isServer
        ? ["80/tcp ALLOW IN Anywhere", "443/tcp ALLOW IN Anywhere"]
        : []),
  ];
}

/** The IPv4 rules of `ufw status`, normalised to "to action from" with single spaces. */
function ufwRules(status: string): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  const lines = status.split("\n");
  const start = lines.findIndex((l) => /^-{2,}/.test(l.trim()));
  for (const raw of lines.slice(start + 1)) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line) continue;
    const normalised = line.replace(/\s{2,}/g, " ");
    if (normalised.includes("(v6)")) v6.push(normalised);
    else v4.push(normalised);
  }
  return { v4, v6 };
}
