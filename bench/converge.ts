/**
 * The per-host cost of Ansible runs (issue 22), on the hosts tier's harness: on fresh VMs of one image
 * (Debian 12 unless BENCH_SUITE says otherwise), each of our host roles run alone, the reference peer's
 * prereq role (k3s-io/k3s-ansible `roles/prereq`) run alone, and the whole host path (`infra up --until
 * hosts`, bootstrap.yml), each a first converge and then a re-run (which must change nothing), with each
 * Ansible strategy (Mitogen's mitogen_linear, infra's default, and Ansible's linear).
 *
 * A slot is one fresh start of the testbed's two VMs (a new disk over the cached image) in which both VMs
 * work at once: our k3s_prereq on one and the peer's prereq on the other (the ratio compares runs that
 * shared the machine), then our other roles two by two, then the host path on both VMs (one `infra up`);
 * each slot once per strategy. A pair is one round of every slot; across pairs the order of the strategies
 * and the VM each role runs on alternate.
 *
 * A role runs alone through a generated playbook (the VM, become, facts gathered; ours after preflight.yml,
 * as every shipped playbook runs them) against the repository
 * `infra init` and `infra configure` made (its rendered inventory and group_vars, the roles_path of its
 * ansible.cfg), with the product's Ansible environment (playbookEnv, resolveStrategy, runPlaybook). Every
 * run gathers facts (a fresh fact cache each), as `infra`'s preflight does.
 *
 * The peer's role cannot be installed by this repository's scripts (its collection is not reachable from
 * here), so its directory comes from BENCH_PEER_PREREQ; the figure names that directory, its Git commit
 * when it is in a checkout, and a hash of its files. Without it the ratios read "peer: not given".
 *
 *   BENCH_PEER_PREREQ=/path/to/k3s-ansible/roles/prereq npm run bench:converge   (needs root, as the hosts tier)
 *   BENCH_PAIRS (3), BENCH_STRATEGIES (mitogen,linear), BENCH_ROLES (common,firewall,k3s_prereq; tailscale
 *   may be added; `none` for the host path alone), BENCH_SUITE (bookworm or trixie)
 */
import { createHash } from "node:crypto";
import { existsSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { playbookEnv, runPlaybook } from "../src/adapters/ansible.js";
import {
  ANSIBLE_STRATEGIES,
  type AnsibleStrategy,
  type AnsibleStrategyName,
  resolveStrategy,
  STRATEGY_ENV,
} from "../src/adapters/ansible-strategy.js";
import { exec } from "../src/adapters/exec.js";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { toolPath } from "../src/toolchain/paths.js";
import { loadVersions } from "../src/toolchain/versions.js";
import { changedTasks } from "../test/hosts/harness/ansible.js";
import { DEBIAN_SUITES, type DebianSuite } from "../test/hosts/harness/image.js";
import { describeInfra } from "../test/hosts/harness/repo.js";
import { JOURNEY_NODES, startTestbed, TAILSCALE_TAGS } from "../test/hosts/harness/testbed.js";
import { AGENT_KEY_VARIABLE, prepareUser, type User } from "../test/hosts/harness/user.js";
import type { Vm } from "../test/hosts/harness/vm.js";

function usage(message: string): never {
  console.error(`bench:converge: ${message}`);
  process.exit(2);
}

const list = (name: string, fallback: string) =>
  (process.env[name] || fallback)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const PAIRS = Number(process.env.BENCH_PAIRS || 3);
if (!Number.isInteger(PAIRS) || PAIRS < 1)
  usage(`BENCH_PAIRS=${process.env.BENCH_PAIRS} is not a whole number ≥ 1`);
const SUITE = process.env.BENCH_SUITE || "bookworm";
if (!Object.hasOwn(DEBIAN_SUITES, SUITE)) {
  usage(`BENCH_SUITE=${SUITE} is not one of ${Object.keys(DEBIAN_SUITES).join(", ")}`);
}
const STRATEGY_NAMES = list("BENCH_STRATEGIES", "mitogen,linear") as AnsibleStrategyName[];
for (const name of STRATEGY_NAMES) {
  if (!(ANSIBLE_STRATEGIES as readonly string[]).includes(name)) {
    usage(`BENCH_STRATEGIES: ${name} is not one of ${ANSIBLE_STRATEGIES.join(", ")}`);
  }
}
// `none`: no role alone (the host path, and the peer's role when given).
const ROLES = list("BENCH_ROLES", "common,firewall,k3s_prereq").filter((r) => r !== "none");
for (const role of ROLES) {
  if (!existsSync(join(PACKAGE_ROOT, "ansible", "roles", role, "tasks", "main.yml"))) {
    usage(`BENCH_ROLES: ${role} is not a role of ansible/roles`);
  }
}
const PEER = process.env.BENCH_PEER_PREREQ ? resolve(process.env.BENCH_PEER_PREREQ) : undefined;
if (PEER && !existsSync(join(PEER, "tasks", "main.yml"))) {
  usage(
    `BENCH_PEER_PREREQ=${PEER} is not a role directory (no tasks/main.yml): give k3s-ansible's roles/prereq`,
  );
}

/**
 * What the peer's prereq reads beyond its defaults, from our inventory: its group names for the servers
 * and agents (the groups of the rendered inventory) and the cluster's pod and service CIDRs.
 */
const PEER_VARS = {
  server_group: "k3s_masters",
  agent_group: "k3s_workers",
  cluster_cidr: "{{ k3s_cluster_cidr }}",
  service_cidr: "{{ k3s_service_cidr }}",
};

interface Item {
  label: string;
  /** A role name on the repository's roles_path, or a role directory. */
  role: string;
  extraVars?: Record<string, unknown>;
}

/**
 * Run untimed before a role alone, except `common`: the state `common`'s first task leaves (python3-apt, which
 * the image lacks). Under Mitogen the apt module cannot install it itself and restart on it (common/tasks/
 * packages.yml); it is done under both strategies, and for the peer's role too, so every VM of a slot and
 * both strategies start from the same state.
 */
const APT_PYTHON =
  "DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -qq --yes --no-install-recommends python3-apt";

const PEER_LABEL = "peer prereq";
const HOST_PATH = "host path (infra up --until hosts)";
const ours = (role: string): Item => ({ label: role, role });
// k3s_prereq and the peer's prereq share a slot; the other roles two by two.
const items: Item[] = [
  ...(ROLES.includes("k3s_prereq") ? [ours("k3s_prereq")] : []),
  ...(PEER ? [{ label: PEER_LABEL, role: PEER, extraVars: PEER_VARS }] : []),
  ...ROLES.filter((r) => r !== "k3s_prereq").map(ours),
];
const slots: Item[][] = [];
for (let i = 0; i < items.length; i += 2) slots.push(items.slice(i, i + 2));

interface Figure {
  strategy: AnsibleStrategyName;
  item: string;
  pair: number;
  vm: string;
  first?: number;
  rerun?: number;
  /** Tasks that reported changed on the re-run. */
  changed?: string[];
  error?: string;
}

/** The peer's directory, its commit when it is in a Git checkout, and a hash of its files. */
async function describePeer(dir: string): Promise<string> {
  const git = await exec("git", ["-C", dir, "log", "-1", "--format=%H", "--", "."], { check: false }).catch(
    () => undefined,
  );
  const commit = git?.exitCode === 0 && git.stdout.trim() ? `commit ${git.stdout.trim().slice(0, 12)}, ` : "";
  const hash = createHash("sha256");
  const files = (await readdir(dir, { recursive: true })).sort();
  for (const file of files) {
    if (!(await stat(join(dir, file))).isFile()) continue;
    hash.update(`${file}\0`).update(await readFile(join(dir, file)));
  }
  return `${dir} (${commit}files sha256 ${hash.digest("hex").slice(0, 12)}), from BENCH_PEER_PREREQ, vars ${JSON.stringify(PEER_VARS)}`;
}

const median = (values: number[]) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const secs = (s: number | undefined) => (s === undefined || Number.isNaN(s) ? "—" : `${s.toFixed(0)} s`);
const times = (s: number) => (Number.isFinite(s) ? `${s.toFixed(2)}×` : "—");
const message = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const versions = await loadVersions(PACKAGE_ROOT);
process.env.PATH = toolPath(process.env, versions);
const peerDescription = PEER ? await describePeer(PEER) : undefined;
const loads: number[] = [];
const sampleLoad = () => loads.push(loadavg()[0] ?? 0);
const figures: Figure[] = [];
const progress = (line: string) => console.error(`[converge ${since()}] ${line}`);

// Interrupted (Ctrl-C stops the VMs and exits: vm.ts), the figures so far are still printed.
let printed = false;
const printSummary = () => {
  if (printed) return;
  printed = true;
  writeSync(1, summary());
};
process.once("exit", printSummary);

let user: User | undefined;
const nodes = JOURNEY_NODES.map((n) => ({ ...n, suite: SUITE as DebianSuite }));
const bed = await startTestbed({
  nodes,
  log: (line) => progress(line),
  whileBooting: async (b) => {
    user = (await prepareUser(b)).user;
  },
});
const boots: number[] = Object.values(bed.bootSeconds);
let exitCode = 0;
try {
  if (!user) throw new Error("the repository was not prepared");
  const u: User = user;
  const ansibleDir = join(u.repo, "ansible");
  const work = join(bed.dir, "converge");
  await mkdir(work, { recursive: true });
  const strategies = new Map<AnsibleStrategyName, AnsibleStrategy>();
  for (const name of STRATEGY_NAMES) {
    const strategy = await resolveStrategy({ ...u.env, [STRATEGY_ENV]: name }, (warning) => {
      throw new Error(warning);
    });
    if (strategy?.name !== name) throw new Error(`${STRATEGY_ENV}=${name} did not resolve`);
    strategies.set(name, strategy);
  }

  /** A fresh start of both VMs: new disks over the image, new host keys (recorded as a user's first SSH would). */
  let untouched = true;
  const freshVms = async () => {
    if (!untouched) {
      await Promise.all(
        bed.vms.map(async (vm) => {
          await vm.stop();
          await vm.start();
          boots.push(await vm.waitForSsh());
        }),
      );
    }
    untouched = false;
    for (const vm of bed.vms) {
      const host = `[127.0.0.1]:${vm.spec.sshPort}`;
      await exec("ssh-keygen", ["-R", host, "-f", u.knownHostsFile], { check: false });
      // Mitogen's SSH refuses an unknown host key; the roles run alone, without preflight.yml's first play.
      await exec("ssh", [
        ...["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new"],
        ...["-o", `UserKnownHostsFile=${u.knownHostsFile}`, "-i", bed.sshKey],
        ...["-p", String(vm.spec.sshPort), "root@127.0.0.1", "true"],
      ]);
    }
    sampleLoad();
  };

  /** One role alone on one VM: the first converge, then the re-run. */
  const alone = async (item: Item, vm: Vm, strategy: AnsibleStrategy, pair: number) => {
    const figure: Figure = { strategy: strategy.name, item: item.label, pair, vm: vm.name };
    figures.push(figure);
    const dir = await mkdtemp(join(work, `${strategy.name}-${item.label.replace(/\W+/g, "-")}-`));
    const playbook = join(dir, "alone.yml");
    // Our roles run as every shipped playbook runs them: after preflight.yml, whose fact gathering stands in
    // for the play's and whose one read of the package database the roles' package tasks consult. The
    // peer's role runs after Ansible's own fact gathering.
    const ours = item.label !== PEER_LABEL;
    const play = { name: `${item.label} alone`, hosts: vm.name, become: true, gather_facts: !ours };
    const preflight = { "ansible.builtin.import_playbook": join(ansibleDir, "playbooks", "preflight.yml") };
    const plays = [...(ours ? [{ ...preflight, vars: { preflight_hosts: vm.name } }] : [])];
    await writeFile(playbook, `---\n${stringify([...plays, { ...play, roles: [{ role: item.role }] }])}`);
    const run = async (n: number) => {
      const base = { ...u.env, ANSIBLE_CACHE_PLUGIN_CONNECTION: join(dir, `facts-${n}`) };
      const env = playbookEnv(base, ansibleDir, u.env.PATH ?? "", strategy);
      const logFile = join(dir, `run-${n}.log`);
      const t = performance.now();
      const options = item.extraVars ? { playbook, extraVars: item.extraVars } : { playbook };
      await runPlaybook(options, { ansibleDir, env, logFile });
      return {
        seconds: (performance.now() - t) / 1000,
        changed: (await changedTasks(logFile))[vm.name] ?? [],
      };
    };
    try {
      if (item.label !== "common") await vm.ssh(APT_PYTHON, { timeoutMs: 600_000 });
      figure.first = (await run(1)).seconds;
      const again = await run(2);
      figure.rerun = again.seconds;
      figure.changed = again.changed;
    } catch (error) {
      figure.error = message(error);
      exitCode = 1;
    }
    progress(
      `${strategy.name} ${item.label} on ${vm.name}: first ${secs(figure.first)}, re-run ${secs(figure.rerun)}` +
        `${figure.changed?.length ? `, changed on the re-run: ${figure.changed.join("; ")}` : ""}${figure.error ? `, FAILED: ${figure.error}` : ""}`,
    );
  };

  /** The host path on both VMs, as a user runs it: `infra up --until hosts`, twice. */
  const hostPath = async (strategy: AnsibleStrategy, pair: number) => {
    const figure: Figure = {
      strategy: strategy.name,
      item: HOST_PATH,
      pair,
      vm: bed.vms.map((v) => v.name).join("+"),
    };
    figures.push(figure);
    const env = { ...u.env, [STRATEGY_ENV]: strategy.name };
    const up = async () => {
      const run = await u.infra(["up", "--until", "hosts", "--skip", "dns", "--yes", "--json"], { env });
      if (run.code !== 0) throw new Error(describeInfra(run));
      const logFile = (run.json as { logFile?: string } | undefined)?.logFile;
      return {
        seconds: run.seconds,
        changed: logFile ? Object.values(await changedTasks(logFile)).flat() : [],
      };
    };
    try {
      // A fresh auth key per run: headscale's expire after 2 h, less than a run of several pairs.
      await u.setVault({
        vault_tailscale_authkey: await bed.headscale.createAuthKey(TAILSCALE_TAGS.server),
        [AGENT_KEY_VARIABLE]: await bed.headscale.createAuthKey(TAILSCALE_TAGS.agent),
      });
      figure.first = (await up()).seconds;
      const again = await up();
      figure.rerun = again.seconds;
      figure.changed = again.changed;
    } catch (error) {
      figure.error = error instanceof Error ? error.message : String(error);
      exitCode = 1;
    }
    progress(
      `${strategy.name} host path on both VMs: first ${secs(figure.first)}, re-run ${secs(figure.rerun)}` +
        `${figure.changed?.length ? `, changed on the re-run: ${figure.changed.join("; ")}` : ""}${figure.error ? `, FAILED: ${figure.error}` : ""}`,
    );
  };

  // Slot by slot, each with every strategy: a run cut short still has the ratio against the peer for both.
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? STRATEGY_NAMES : [...STRATEGY_NAMES].reverse();
    const vms = pair % 2 === 0 ? bed.vms : [...bed.vms].reverse();
    for (const slot of [...slots, undefined]) {
      for (const name of order) {
        const strategy = strategies.get(name) as AnsibleStrategy;
        await freshVms();
        if (slot) await Promise.all(slot.map((item, i) => alone(item, vms[i] as Vm, strategy, pair)));
        else await hostPath(strategy, pair);
      }
    }
  }
} catch (error) {
  exitCode = 1;
  console.error(`bench:converge stopped: ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  if (exitCode !== 0) console.error(`artifacts kept in ${await bed.keepArtifacts("bench-converge")}`);
  await bed.stop();
}
printSummary();
process.exitCode = exitCode;

/** The figures: per strategy and item, the medians and each pair's value; then the ratios. */
function summary(): string {
  const lines: string[] = [];
  // a pair is done once its last slot, the host path, has both runs (an interrupted pair has figures too)
  const pairsDone = new Set(
    figures.filter((f) => f.item === HOST_PATH && f.rerun !== undefined).map((f) => f.pair),
  ).size;
  lines.push(
    `bench:converge — fresh Debian ${DEBIAN_SUITES[SUITE as DebianSuite]} (${SUITE}) VMs under emulation, ${pairsDone} of ${PAIRS} pair(s), order alternated; ` +
      "roles alone on one VM each (two VMs at once; every role but common on a VM given python3-apt first, untimed), " +
      "the host path on both VMs in one run (the figure is per VM, the VMs in parallel)",
  );
  lines.push(
    `peer: ${peerDescription ?? "not given (set BENCH_PEER_PREREQ=<a k3s-io/k3s-ansible checkout>/roles/prereq)"}`,
  );
  lines.push(
    `load average (1 min) at the start of each slot: ${loads.length ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}` : "—"} on ${cpus().length} cores; ` +
      `boot to SSH: median ${secs(median(boots))} (${boots.length} boots); total ${since()}`,
  );
  lines.push("");
  lines.push(
    `${"strategy".padEnd(9)}${"run".padEnd(36)}${"first converge".padEnd(28)}${"re-run".padEnd(28)}changed on re-run`,
  );
  const labels = [...items.map((i) => i.label), HOST_PATH];
  const each = (values: Array<number | undefined>) => values.map((v) => secs(v).replace(" s", "")).join(", ");
  for (const strategy of STRATEGY_NAMES) {
    for (const label of labels) {
      const fs = figures.filter((f) => f.strategy === strategy && f.item === label);
      if (fs.length === 0) continue;
      const firsts = fs.flatMap((f) => (f.first === undefined ? [] : [f.first]));
      const reruns = fs.flatMap((f) => (f.rerun === undefined ? [] : [f.rerun]));
      const changed = fs.flatMap((f) => f.changed ?? []);
      const failed = fs.filter((f) => f.error).length;
      lines.push(
        `${strategy.padEnd(9)}${label.padEnd(36)}${`${secs(median(firsts))} (${each(fs.map((f) => f.first))})`.padEnd(28)}` +
          `${`${secs(median(reruns))} (${each(fs.map((f) => f.rerun))})`.padEnd(28)}${changed.length}` +
          `${failed ? `   ${failed} run(s) failed` : ""}`,
      );
    }
  }
  lines.push("");
  // Ours over the peer's: per pair (the two ran in the same slot), then the median over pairs.
  for (const strategy of STRATEGY_NAMES) {
    if (!PEER) {
      lines.push(`k3s_prereq / peer prereq (${strategy}): peer: not given`);
      continue;
    }
    const ratio = (field: "first" | "rerun") => {
      const perPair: number[] = [];
      for (let pair = 0; pair < PAIRS; pair++) {
        const at = (label: string) =>
          figures.find((f) => f.strategy === strategy && f.item === label && f.pair === pair)?.[field];
        const a = at("k3s_prereq");
        const b = at(PEER_LABEL);
        if (a !== undefined && b !== undefined) perPair.push(a / b);
      }
      return perPair.length
        ? `${times(median(perPair))} (${perPair.map((r) => r.toFixed(2)).join(", ")})`
        : "—";
    };
    lines.push(
      `k3s_prereq / peer prereq (${strategy}, per pair, median): first converge ${ratio("first")}, re-run ${ratio("rerun")}`,
    );
  }
  if (STRATEGY_NAMES.includes("mitogen") && STRATEGY_NAMES.includes("linear")) {
    for (const label of labels) {
      const m = (strategy: string, field: "first" | "rerun") =>
        median(
          figures.flatMap((f) =>
            f.strategy === strategy && f.item === label && f[field] !== undefined ? [f[field] as number] : [],
          ),
        );
      const first = m("mitogen", "first") / m("linear", "first");
      const rerun = m("mitogen", "rerun") / m("linear", "rerun");
      if (Number.isFinite(first) || Number.isFinite(rerun)) {
        lines.push(`mitogen / linear, ${label}: first converge ${times(first)}, re-run ${times(rerun)}`);
      }
    }
  }
  const failures = figures.filter((f) => f.error);
  if (failures.length) {
    lines.push("", "failed runs:");
    for (const f of failures)
      lines.push(`  ${f.strategy} ${f.item} on ${f.vm} (pair ${f.pair + 1}): ${f.error?.split("\n")[0]}`);
  }
  return `${lines.join("\n")}\n`;
}
