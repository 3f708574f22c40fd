/**
 * A test cluster: the cached image, a caching apt proxy and headscale on the host loopback, N VMs
 * joined by a private link, an inventory in the CONTRACT's shape, and the playbook under test.
 * `stop()` always stops every VM and headscale; `keepArtifacts()` copies the console logs, QEMU logs,
 * Ansible output and headscale log to .infra/artifacts/hosts/<stamp>/.
 */
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { exec } from "../../../src/adapters/exec.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { cacheRoot, toolBinDir } from "../../../src/toolchain/paths.js";
import { loadVersions } from "../../../src/toolchain/versions.js";
import { ansibleEnv, type PlaybookRun, runPlaybook } from "./ansible.js";
import { type AptProxy, startAptProxy } from "./apt-proxy.js";
import { type Headscale, startHeadscale } from "./headscale.js";
import { ensureImage, hostMirrors, type VmImage } from "./image.js";
import { freeTcpPort, freeUdpPort } from "./net.js";
import { Vm } from "./vm.js";

export type NodeRole = "server" | "agent";
export interface NodeSpec {
  name: string;
  role: NodeRole;
  /** Address on the private link (the VPS's "public" address); TEST-NET-3 by default. */
  publicIp: string;
}

/** Kept with the artifacts of a failed run, per VM. */
const GUEST_DIAGNOSTICS = [
  "ip -4 addr",
  "tailscale status",
  "ufw status verbose",
  "iptables-save",
  "journalctl --no-pager -u tailscaled -n 400",
]
  .map((command) => `echo "### ${command}"; ${command} 2>&1`)
  .join("; ");

export const DEFAULT_NODES: NodeSpec[] = [
  { name: "server-1", role: "server", publicIp: "203.0.113.11" },
  { name: "agent-1", role: "agent", publicIp: "203.0.113.12" },
];

/** The cluster-wide variables `infra configure` renders into group_vars/all/cluster.yml (CONTRACT §2). */
export const TEST_CLUSTER_VARS = {
  cluster_name: "hosts-test",
  cluster_domain: "hosts.test",
  k3s_version: "v1.36.3+k3s1",
  k3s_cluster_cidr: "10.42.0.0/16",
  k3s_service_cidr: "10.43.0.0/16",
  k3s_api_hostname: "k8s-api.hosts.test",
  ingress_mode: "public",
  tailscale_tags: ["tag:k8s"],
  tailscale_login_server: "", // set to headscale's URL at start
  etcd_s3_enabled: false,
  etcd_s3_endpoint: "",
  etcd_s3_bucket: "",
  etcd_s3_folder: "",
};

const HEADER =
  "# Rendered by `infra configure` from cluster.yaml — do not edit; change cluster.yaml and re-run.\n";

/** The `tailscale_ip` fact per host, as the last play of a run reported it. */
export function tailscaleIpFacts(run: PlaybookRun): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const m of run.output.matchAll(/TAILSCALE_IP_FACT (\S+) (\S+)/g)) facts[m[1] ?? ""] = m[2] ?? "";
  return facts;
}

export interface TestCluster {
  dir: string;
  image: VmImage;
  vms: Vm[];
  vm(name: string): Vm;
  nodes: NodeSpec[];
  /** Undefined only with `withoutMesh`. */
  headscale: Headscale | undefined;
  aptProxy: AptProxy;
  sshKey: string;
  rootPassword: string;
  inventory: string[];
  playbook: string;
  /** Seconds from QEMU start to SSH answering, per VM. */
  bootSeconds: Record<string, number>;
  run(
    label: string,
    options?: {
      onLine?: (line: string) => void;
      limit?: string;
      extraVars?: Record<string, unknown>;
      /** Another playbook than the one under test (a path). */
      playbook?: string;
      /** More ansible-playbook arguments, e.g. `--check`. */
      extraArgs?: string[];
    },
  ): Promise<PlaybookRun>;
  keepArtifacts(label: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartOptions {
  nodes?: NodeSpec[];
  /**
   * Harness development only: no headscale and no tailscale role (the playbook under test becomes
   * common + firewall + k3s_prereq). The tests never set it.
   */
  withoutMesh?: boolean;
  log?: (line: string) => void;
}

export async function startCluster(options: StartOptions = {}): Promise<TestCluster> {
  const log = options.log ?? (() => {});
  const nodes = options.nodes ?? DEFAULT_NODES;
  const dir = await mkdtemp(join(tmpdir(), "infra-hosts-"));
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const versions = await loadVersions(PACKAGE_ROOT);
    const tailscaleTool = versions.tools.find((t) => t.name === "tailscale");
    const tailscaleDir = tailscaleTool ? toolBinDir(process.env, versions, tailscaleTool) : undefined;
    const needed = [
      "qemu-system-x86_64",
      "socat",
      "debootstrap",
      ...(options.withoutMesh ? [] : ["headscale"]),
    ];
    for (const bin of needed) {
      const found = await exec("sh", ["-c", `command -v ${bin}`], { check: false });
      if (found.exitCode !== 0) {
        throw new Error(
          `${bin} is not installed: run \`./infra tools install\` (tools/versions.yaml pins it)`,
        );
      }
    }
    if (!tailscaleDir) throw new Error("tools/versions.yaml has no `tailscale` entry");
    const tsCheck = await exec("test", ["-x", join(tailscaleDir, "tailscaled")], { check: false });
    if (tsCheck.exitCode !== 0 && !options.withoutMesh) {
      throw new Error("tailscale and tailscaled are not built: run `./infra tools install tailscale`");
    }

    const image = await ensureImage(log);
    log(
      image.buildSeconds > 0
        ? `image built in ${image.buildSeconds}s: ${image.dir}`
        : `image cached: ${image.dir}`,
    );

    const sshKey = join(dir, "id_ed25519");
    await exec("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "infra-hosts-test", "-f", sshKey]);
    const sshPublicKey = (await exec("cat", [`${sshKey}.pub`])).stdout;
    const rootPassword = randomBytes(12).toString("base64url");
    const rootPasswordHash = (
      await exec("openssl", ["passwd", "-6", "-stdin"], { input: rootPassword })
    ).stdout.trim();

    const mirrors = await hostMirrors();
    const aptProxy = await startAptProxy(join(cacheRoot(process.env), "apt-proxy"), mirrors.hosts);
    cleanups.push(() => aptProxy.close());

    const clusterVars = { ...TEST_CLUSTER_VARS };
    const headscale = options.withoutMesh
      ? undefined
      : await startHeadscale(join(dir, "headscale"), clusterVars.tailscale_tags);
    if (headscale) {
      cleanups.push(() => headscale.stop());
      clusterVars.tailscale_login_server = headscale.serverUrl;
    }

    if (nodes.length !== 2) throw new Error("the private link is a point-to-point dgram pair: exactly 2 VMs");
    const linkPorts = [await freeUdpPort(), await freeUdpPort()];
    const vms: Vm[] = [];
    for (const [index, node] of nodes.entries()) {
      const vm = new Vm(
        {
          name: node.name,
          linkIp: node.publicIp,
          linkLocalPort: linkPorts[index] ?? 0,
          linkRemotePort: linkPorts[1 - index] ?? 0,
          sshPort: await freeTcpPort(),
          aptProxyPort: aptProxy.port,
          headscalePort: headscale?.port ?? aptProxy.port,
          index,
        },
        { image, dir, sshKey, sshPublicKey, rootPasswordHash },
      );
      vms.push(vm);
      cleanups.push(() => vm.stop());
    }
    await Promise.all(vms.map((vm) => vm.start()));
    const bootSeconds: Record<string, number> = {};
    await Promise.all(
      vms.map(async (vm) => {
        bootSeconds[vm.name] = await vm.waitForSsh();
        log(`${vm.name}: SSH answered ${bootSeconds[vm.name]?.toFixed(0)}s after start`);
      }),
    );

    // The inventory in the CONTRACT's shape (what `infra configure` renders), plus the test's
    // connection overrides in a second source that sorts after it.
    const inv = join(dir, "inventory");
    await mkdir(join(inv, "group_vars", "all"), { recursive: true });
    const hostVars = (node: NodeSpec) => ({
      public_ip: node.publicIp,
      ansible_user: "root",
      ansible_port: 22,
      ansible_ssh_private_key_file: sshKey,
      node_provider: "qemu",
      node_region: "loopback",
      node_ingress: node.role === "server",
      node_labels: {},
      node_taints: [],
    });
    const group = (role: NodeRole) =>
      Object.fromEntries(nodes.filter((n) => n.role === role).map((n) => [n.name, hostVars(n)]));
    await writeFile(
      join(inv, "hosts.yml"),
      HEADER +
        stringify({
          k3s_cluster: {
            children: { k3s_masters: { hosts: group("server") }, k3s_workers: { hosts: group("agent") } },
          },
        }),
    );
    await writeFile(join(inv, "group_vars", "all", "cluster.yml"), HEADER + stringify(clusterVars));
    const repoGroupVars = join(PACKAGE_ROOT, "ansible", "inventory", "group_vars");
    for (const entry of await readdir(repoGroupVars, { recursive: true })) {
      const name = String(entry);
      // The static group vars come from the repository; the rendered and secret ones are the test's.
      if (!name.endsWith(".yml") || name.endsWith("cluster.yml") || name.includes("vault")) continue;
      await cp(join(repoGroupVars, name), join(inv, "group_vars", name));
    }
    await writeFile(
      join(inv, "zz-test-connection.yml"),
      `# The test's connection to the VMs (SSH forwarded to loopback) and the binary Tailscale install.\n${stringify(
        {
          all: {
            hosts: Object.fromEntries(
              vms.map((vm) => [
                vm.name,
                {
                  ansible_host: "127.0.0.1",
                  ansible_port: vm.spec.sshPort,
                  // sshd in the guest listens on 22; only the host side of the forward differs.
                  firewall_ssh_port: 22,
                  tailscale_install_method: "binary",
                  // headscale takes the tags from the pre-auth key and refuses requested ones.
                  tailscale_advertise_tags: false,
                  tailscale_binary_src_dir: tailscaleDir,
                },
              ]),
            ),
          },
        },
      )}`,
    );
    const secrets = join(dir, "secrets.json");
    await writeFile(
      secrets,
      JSON.stringify({
        vault_tailscale_authkey: headscale ? await headscale.createAuthKey() : "",
        vault_k3s_token: randomBytes(32).toString("hex"),
      }),
      { mode: 0o600 },
    );
    const playbook = join(dir, "hosts-under-test.yml");
    await writeFile(
      playbook,
      `---\n# bootstrap.yml as shipped, then the K3s prerequisites (everything before the K3s install).\n${stringify(
        [
          options.withoutMesh
            ? {
                name: "Bootstrap without the mesh",
                hosts: "k3s_cluster",
                become: true,
                roles: ["common", "firewall"],
              }
            : {
                name: "Bootstrap",
                "ansible.builtin.import_playbook": join(
                  PACKAGE_ROOT,
                  "ansible",
                  "playbooks",
                  "bootstrap.yml",
                ),
              },
          {
            name: "K3s prerequisites",
            hosts: "k3s_cluster",
            become: true,
            // bootstrap.yml's preflight gathered them earlier in the same run.
            gather_facts: false,
            roles: [{ role: "k3s_prereq" }],
          },
          {
            name: "Report the tailscale_ip fact (read by the test)",
            hosts: "k3s_cluster",
            gather_facts: false,
            tasks: [
              {
                name: "Report tailscale_ip",
                "ansible.builtin.debug": {
                  msg: "TAILSCALE_IP_FACT {{ inventory_hostname }} {{ tailscale_ip | default('undefined') }}",
                },
              },
            ],
          },
        ],
      )}`,
    );
    const env = ansibleEnv(dir, join(PACKAGE_ROOT, "ansible"), process.env);
    await mkdir(join(dir, "cp"), { recursive: true });
    const inventory = [inv];

    return {
      dir,
      image,
      vms,
      vm: (name) => {
        const vm = vms.find((v) => v.name === name);
        if (!vm) throw new Error(`no VM ${name}`);
        return vm;
      },
      nodes,
      headscale,
      aptProxy,
      sshKey,
      rootPassword,
      inventory,
      playbook,
      bootSeconds,
      run: (label, runOptions = {}) =>
        runPlaybook({
          playbook: runOptions.playbook ?? playbook,
          inventory,
          extraVarsFile: secrets,
          env,
          cwd: join(PACKAGE_ROOT, "ansible"),
          logFile: join(dir, `ansible-${label}.log`),
          onLine: runOptions.onLine,
          limit: runOptions.limit,
          extraVars: runOptions.extraVars,
          extraArgs: runOptions.extraArgs,
        }),
      keepArtifacts: async (label) => {
        // What the guests know that their consoles do not show: best effort, the VM may be gone.
        for (const vm of vms) {
          const diagnostics = await vm
            .ssh(GUEST_DIAGNOSTICS, { check: false, timeoutMs: 60_000 })
            .then((r) => r.stdout + r.stderr)
            .catch((e: unknown) => `not reachable: ${String(e)}`);
          await writeFile(join(dir, `${vm.name}.diagnostics.log`), diagnostics);
        }
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        const target = join(PACKAGE_ROOT, ".infra", "artifacts", "hosts", `${stamp}-${label}`);
        await mkdir(target, { recursive: true });
        await cp(dir, target, {
          recursive: true,
          filter: (src) =>
            !/\.(qcow2|sock|sqlite|sqlite-wal|sqlite-shm)$/.test(src) &&
            !src.endsWith("id_ed25519") &&
            !src.endsWith("secrets.json") &&
            !src.includes("/cp/") &&
            !src.endsWith("noise_private.key"),
        });
        return target;
      },
      stop: async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
