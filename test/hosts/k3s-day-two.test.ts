/**
 * Host tier, K3s day two (issue 17) on the emulated Debian 12 VMs of the tier's harness, after
 * bootstrap.yml and k3s_prereq have converged them (a real Tailscale mesh, real systemd, real kernel):
 *
 * - the flannel watchdog role (ansible/roles/flannel_watchdog) installed by Ansible on server-1, its
 *   timer enabled; its detection and rate limits with a real VXLAN interface flannel.1 over the real
 *   tailscale0 and real routes added and removed on the guest. K3s cannot be obtained here: the unit
 *   it restarts is a **stand-in for K3s** — a real systemd unit named k3s.service that only records
 *   each start — and the API the watchdog would read pod CIDRs from is absent (its last known list,
 *   the state file it keeps, is written by the test: the path the script takes when the API is down);
 * - k3s-upgrade.yml, k3s-etcd-snapshot.yml and k3s-restore.yml in check mode with the guests' real
 *   facts (the restore's "stop K3s" finds the stand-in unit on server-1), and the snapshot name check.
 *
 * What only a real K3s cluster proves (the install at the new release, the snapshot, the reset, flannel
 * itself) is listed in docs/testing.md. Requires root and the tools of tools/versions.yaml.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { TIER_TIMEOUT_MS } from "../helpers/timeouts.js";
import { describeRun, type PlaybookRun } from "./harness/ansible.js";
import { startCluster, TEST_CLUSTER_VARS, type TestCluster } from "./harness/cluster.js";
import { tailscaleIp4 } from "./harness/probes.js";

const SERVER = "server-1";
const AGENT = "agent-1";
/** The agent's pod CIDR as K3s would assign it; the server routes it over flannel.1. */
const AGENT_POD_CIDR = "10.42.1.0/24";
const STATE_DIR = "/var/lib/k3s-flannel-watchdog";
/** Every start of the K3s stand-in appends a line here. */
const STAND_IN_STARTS = "/var/lib/k3s-stand-in/starts";
const MAX_RESTARTS_PER_DAY = 3;
const log = (line: string) => console.log(`[hosts/day-two] ${line}`);
const RUN_TIMEOUT = TIER_TIMEOUT_MS.hosts;

let cluster: TestCluster;
let failed = false;

/** One of the repository's playbooks (or the test's own) against the VMs, with the test's secrets. */
function playbook(label: string, path: string, extraArgs: string[] = []): Promise<PlaybookRun> {
  return cluster.run(label, { playbook: path, extraArgs });
}

const repoPlaybook = (name: string) => join(PACKAGE_ROOT, "ansible", "playbooks", name);

async function onServer(command: string): Promise<string> {
  return (await cluster.vm(SERVER).ssh(command)).stdout.trim();
}

async function standInStarts(): Promise<number> {
  return Number(await onServer(`wc -l < ${STAND_IN_STARTS}`));
}

/** One run of the watchdog as its timer runs it (the service), and what it logged. */
async function watchdogRun(): Promise<string> {
  const vm = cluster.vm(SERVER);
  await vm.ssh("systemctl start k3s-flannel-watchdog.service", { check: false });
  const id = await onServer("systemctl show -p InvocationID --value k3s-flannel-watchdog.service");
  for (let attempt = 0; attempt < 10; attempt++) {
    const out = await onServer(`journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=${id}`);
    if (out) return out;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the watchdog's run ${id} logged nothing`);
}

beforeAll(async () => {
  cluster = await startCluster({ log });
  const bootstrap = await cluster.run("bootstrap");
  if (bootstrap.exitCode !== 0) {
    failed = true;
    throw new Error(`bootstrap.yml + k3s_prereq did not converge the VMs:\n${describeRun(bootstrap)}`);
  }
}, RUN_TIMEOUT);

afterEach(({ task }) => {
  if (task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  if (!cluster) return;
  if (failed) log(`artifacts kept in ${await cluster.keepArtifacts("k3s-day-two")}`);
  await cluster.stop();
});

describe("flannel watchdog on a guest, with a real systemd unit standing in for K3s", () => {
  beforeAll(async () => {
    // The stand-in for K3s: not K3s, a unit of the same name that records its starts.
    await onServer(
      [
        "mkdir -p /var/lib/k3s-stand-in",
        `cat > /etc/systemd/system/k3s.service <<'EOF'
[Unit]
Description=STAND-IN for K3s (hosts-tier test of the flannel watchdog): records each start, runs nothing
[Service]
ExecStart=/bin/sh -c 'date +%s >> ${STAND_IN_STARTS}; exec sleep infinity'
EOF`,
        "systemctl daemon-reload",
        "systemctl start k3s.service",
      ].join("\n"),
    );
  }, RUN_TIMEOUT);

  it(
    "the role installs the script, the service and an enabled timer; a second run changes nothing",
    async () => {
      const file = join(cluster.dir, "flannel-watchdog.yml");
      await writeFile(
        file,
        [
          "---",
          "- name: Flannel watchdog (hosts-tier test; k3s.service is a stand-in for K3s here)",
          `  hosts: ${SERVER}`,
          "  become: true",
          "  gather_facts: false",
          "  roles:",
          "    - role: flannel_watchdog",
          "      vars:",
          "        flannel_watchdog_grace_seconds: 0",
          "        flannel_watchdog_min_restart_interval: 60",
          `        flannel_watchdog_max_restarts_per_day: ${MAX_RESTARTS_PER_DAY}`,
          "",
        ].join("\n"),
      );
      const first = await playbook("watchdog-1", file);
      expect(first.exitCode, describeRun(first)).toBe(0);
      const second = await playbook("watchdog-2", file);
      expect(second.exitCode, describeRun(second)).toBe(0);
      expect(second.changedTasks[SERVER] ?? [], describeRun(second)).toEqual([]);
      expect(await onServer("systemctl is-enabled k3s-flannel-watchdog.timer")).toBe("enabled");
      expect(await onServer("systemctl is-active k3s-flannel-watchdog.timer")).toBe("active");
      // The test runs the service itself from here on: no timer run in between.
      await onServer("systemctl stop k3s-flannel-watchdog.timer");
    },
    RUN_TIMEOUT,
  );

  it("a real VXLAN flannel.1 over tailscale0 with the route to the agent's pod CIDR: no restart", async () => {
    const ip = await tailscaleIp4(cluster.vm(SERVER));
    await onServer(
      [
        `ip link add flannel.1 type vxlan id 1 local ${ip} dev tailscale0 dstport 8472 nolearning`,
        "ip link set flannel.1 up",
        `ip route add ${AGENT_POD_CIDR} via ${AGENT_POD_CIDR.replace("/24", "")} dev flannel.1 onlink`,
        // the pod CIDRs the watchdog last read from the API (there is no API here)
        `mkdir -p ${STATE_DIR} && echo '${AGENT} ${AGENT_POD_CIDR}' > ${STATE_DIR}/peers`,
      ].join(" && "),
    );
    expect(await onServer("ip -d -o link show flannel.1")).toMatch(/vxlan id 1 .*dev tailscale0/);
    const before = await standInStarts();
    const out = await watchdogRun();
    expect(out).toMatch(/the API did not answer .*; checking the last known pod CIDRs/);
    expect(out).not.toMatch(/restarting/);
    expect(await standInStarts()).toBe(before);
  });

  it("the route gone while tailscale0 is up: the stand-in is restarted once and the journal says why", async () => {
    await onServer(`ip route del ${AGENT_POD_CIDR} dev flannel.1`);
    const before = await standInStarts();
    const out = await watchdogRun();
    expect(out).toMatch(
      new RegExp(
        `no route over flannel\\.1 to ${AGENT_POD_CIDR.replaceAll(".", "\\.")} \\(${AGENT}\\); restarting k3s \\(restart 1 in 24 h\\)`,
      ),
    );
    await expect.poll(standInStarts, { timeout: 30_000 }).toBe(before + 1);
  });

  it("rate limits: no second restart within the interval, none past the daily cap", async () => {
    const before = await standInStarts();
    const soon = await watchdogRun();
    expect(soon).toMatch(/not restarting k3s: rate-limited \(last restart \d+s ago, at most one per 60s\)/);
    // the day's earlier restarts, as the watchdog records them, outside the interval
    await onServer(
      `now=$(date +%s); : > ${STATE_DIR}/restarts; for i in $(seq ${MAX_RESTARTS_PER_DAY}); do echo $((now - 3600 * i)) >> ${STATE_DIR}/restarts; done`,
    );
    const capped = await watchdogRun();
    expect(capped).toMatch(
      new RegExp(
        `not restarting k3s: rate-limited \\(${MAX_RESTARTS_PER_DAY} restarts in the last 24 h, at most ${MAX_RESTARTS_PER_DAY}\\)`,
      ),
    );
    expect(await standInStarts()).toBe(before);
  });

  it("flannel.1 gone while tailscale0 is up: restarted; tailscale0 down: it waits for tailscaled instead", async () => {
    await onServer(`ip link del flannel.1 && : > ${STATE_DIR}/restarts`);
    const before = await standInStarts();
    expect(await watchdogRun()).toMatch(/flannel\.1 is missing while tailscale0 is up; restarting k3s/);
    await expect.poll(standInStarts, { timeout: 30_000 }).toBe(before + 1);
    await onServer(`: > ${STATE_DIR}/restarts && systemctl stop tailscaled`);
    try {
      expect(await watchdogRun()).toMatch(/tailscale0 is down or missing: waiting for tailscaled/);
      expect(await standInStarts()).toBe(before + 1);
    } finally {
      await onServer("systemctl start tailscaled");
    }
  });
});

describe("the day-two playbooks in check mode with the guests' real facts", () => {
  it(
    "k3s-upgrade.yml to the pinned release: the skew checks pass, the roles run in check mode",
    async () => {
      const run = await playbook("upgrade-check", repoPlaybook("k3s-upgrade.yml"), [
        "--check",
        "-e",
        `k3s_version=${TEST_CLUSTER_VARS.k3s_version}`,
      ]);
      expect(run.exitCode, describeRun(run)).toBe(0);
      expect(Object.keys(run.recap).sort()).toEqual([AGENT, SERVER]);
    },
    RUN_TIMEOUT,
  );

  it(
    "k3s-etcd-snapshot.yml: runs on the first server only; a name K3s would reject stops it",
    async () => {
      const ok = await playbook("snapshot-check", repoPlaybook("k3s-etcd-snapshot.yml"), [
        "--check",
        "-e",
        "snapshot_name=pre-upgrade-v1-36-3-k3s1",
      ]);
      expect(ok.exitCode, describeRun(ok)).toBe(0);
      expect(Object.keys(ok.recap)).toEqual([SERVER]);
      const bad = await playbook("snapshot-bad-name", repoPlaybook("k3s-etcd-snapshot.yml"), [
        "--check",
        "-e",
        "snapshot_name=Bad_Name",
      ]);
      expect(bad.exitCode).not.toBe(0);
      expect(bad.failures[SERVER]?.message).toMatch(
        /snapshot_name must be lowercase letters, digits and "-"/,
      );
    },
    RUN_TIMEOUT,
  );

  it(
    "k3s-restore.yml: every step in check mode on the server (K3s' unit is the stand-in here)",
    async () => {
      const run = await playbook("restore-check", repoPlaybook("k3s-restore.yml"), [
        "--check",
        "-e",
        `restore_snapshot=etcd-snapshot-${SERVER}-1764000000`,
      ]);
      expect(run.exitCode, describeRun(run)).toBe(0);
      expect(run.recap[SERVER]?.failed).toBe(0);
      // check mode: the stand-in was not stopped
      expect(await onServer("systemctl is-active k3s.service")).toBe("active");
    },
    RUN_TIMEOUT,
  );
});
