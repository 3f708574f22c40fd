/**
 * The machines of the hosts tier: the cached images (one per Debian release), a caching apt proxy and
 * headscale on the host loopback, and two VMs joined by a private link — what a user has after renting
 * two fresh VPSs and pointing a Tailscale control server at them. The test drives them through the
 * product (repo.ts); nothing here writes an inventory or a playbook.
 *
 * `stop()` always stops every VM, headscale and the proxy; `keepArtifacts()` copies the console and QEMU
 * logs, the guests' diagnostics, the headscale log and the given files to .infra/artifacts/hosts/<stamp>/.
 */
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../../../src/adapters/exec.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { cacheRoot, toolBinDir } from "../../../src/toolchain/paths.js";
import { loadVersions } from "../../../src/toolchain/versions.js";
import { type AptProxy, startAptProxy } from "./apt-proxy.js";
import { type Headscale, startHeadscale } from "./headscale.js";
import { type DebianSuite, ensureImage, hostMirrors, type VmImage } from "./image.js";
import { type Link, startLink } from "./link.js";
import { freeTcpPort } from "./net.js";
import { Vm } from "./vm.js";

export type NodeRole = "server" | "agent";
export interface NodeSpec {
  name: string;
  role: NodeRole;
  /** Address on the private link (the VPS's "public" address); TEST-NET-3. */
  publicIp: string;
  /** The Debian release the VM runs. */
  suite: DebianSuite;
}

/** One VM per supported Debian release: both converge for real. */
export const JOURNEY_NODES: NodeSpec[] = [
  { name: "server-1", role: "server", publicIp: "203.0.113.11", suite: "bookworm" },
  { name: "agent-1", role: "agent", publicIp: "203.0.113.12", suite: "trixie" },
];

/**
 * The tags the cluster's nodes carry, per role: cluster.yaml's defaults (`tailscale.tags` and
 * `serverTag` or `agentTag`). headscale puts them on the pre-auth key, one key per role
 * (docs/networking.md); the tailnet policy opens the cluster's ports by them.
 */
export const TAILSCALE_TAGS: Record<NodeRole, readonly string[]> = {
  server: ["tag:k8s", "tag:k8s-server"],
  agent: ["tag:k8s", "tag:k8s-agent"],
};

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

export interface Testbed {
  dir: string;
  images: Record<string, VmImage>;
  vms: Vm[];
  vm(name: string): Vm;
  nodes: NodeSpec[];
  headscale: Headscale;
  /** The private link's bridge (link.ts), for a device that joins the VMs' "internet". */
  link: Link;
  aptProxy: AptProxy;
  sshKey: string;
  rootPassword: string;
  /** Where `./infra tools install tailscale` put tailscale and tailscaled (the binary install's source). */
  tailscaleBinDir: string;
  /** Seconds from QEMU start to SSH answering, per VM. */
  bootSeconds: Record<string, number>;
  keepArtifacts(label: string, extra?: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface TestbedOptions {
  nodes?: NodeSpec[];
  log?: (line: string) => void;
  /** Work done on the host while the VMs boot (the user's side needs no VM until the first run). */
  whileBooting?: (bed: Omit<Testbed, "bootSeconds">) => Promise<void>;
}

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const log = options.log ?? (() => {});
  const nodes = options.nodes ?? JOURNEY_NODES;
  const dir = await mkdtemp(join(tmpdir(), "infra-hosts-"));
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const versions = await loadVersions(PACKAGE_ROOT);
    const tailscaleTool = versions.tools.find((t) => t.name === "tailscale");
    if (!tailscaleTool) throw new Error("tools/versions.yaml has no `tailscale` entry");
    const tailscaleBinDir = toolBinDir(process.env, versions, tailscaleTool) ?? "";
    for (const bin of ["qemu-system-x86_64", "socat", "debootstrap", "headscale", "ansible-playbook"]) {
      const found = await exec("sh", ["-c", `command -v ${bin}`], { check: false });
      if (found.exitCode !== 0) {
        throw new Error(
          `${bin} is not installed: run \`./infra tools install\` (tools/versions.yaml pins it)`,
        );
      }
    }
    const tsCheck = await exec("test", ["-x", join(tailscaleBinDir, "tailscaled")], { check: false });
    if (tsCheck.exitCode !== 0) {
      throw new Error("tailscale and tailscaled are not built: run `./infra tools install tailscale`");
    }

    // Both releases' images at once: debootstrap is mostly waiting on the mirror.
    const suites = [...new Set(nodes.map((n) => n.suite))];
    const built = await Promise.all(suites.map((suite) => ensureImage(suite, log)));
    const images = Object.fromEntries(built.map((image) => [image.suite, image]));
    for (const image of built) {
      log(
        image.buildSeconds > 0
          ? `image ${image.suite} built in ${image.buildSeconds}s: ${image.dir}`
          : `image ${image.suite} cached: ${image.dir}`,
      );
    }

    const sshKey = join(dir, "id_ed25519");
    await exec("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "infra-hosts-test", "-f", sshKey]);
    const sshPublicKey = (await exec("cat", [`${sshKey}.pub`])).stdout;
    const rootPassword = randomBytes(12).toString("base64url");
    const rootPasswordHash = (
      await exec("openssl", ["passwd", "-6", "-stdin"], { input: rootPassword })
    ).stdout.trim();

    const mirrorHosts = new Set<string>();
    for (const suite of suites) for (const host of (await hostMirrors(suite)).hosts) mirrorHosts.add(host);
    const aptProxy = await startAptProxy(join(cacheRoot(process.env), "apt-proxy"), [...mirrorHosts]);
    cleanups.push(() => aptProxy.close());

    const headscale = await startHeadscale(join(dir, "headscale"));
    cleanups.push(() => headscale.stop());

    const link = await startLink();
    cleanups.push(() => link.stop());
    const vms: Vm[] = [];
    for (const [index, node] of nodes.entries()) {
      const image = images[node.suite];
      if (!image) throw new Error(`no image for ${node.suite}`);
      const vm = new Vm(
        {
          name: node.name,
          linkIp: node.publicIp,
          linkTap: await link.createTap(index),
          sshPort: await freeTcpPort(),
          aptProxyPort: aptProxy.port,
          headscalePort: headscale.port,
          index,
        },
        { image, dir, sshKey, sshPublicKey, rootPasswordHash },
      );
      vms.push(vm);
      cleanups.push(() => vm.stop());
    }
    const vm = (name: string) => {
      const found = vms.find((v) => v.name === name);
      if (!found) throw new Error(`no VM ${name}`);
      return found;
    };
    const keepArtifacts = async (label: string, extra: string[] = []) => {
      // What the guests know that their consoles do not show: best effort, a VM may be gone.
      for (const v of vms) {
        const diagnostics = await v
          .ssh(GUEST_DIAGNOSTICS, { check: false, timeoutMs: 60_000 })
          .then((r) => r.stdout + r.stderr)
          .catch((e: unknown) => `not reachable: ${String(e)}`);
        await writeFile(join(dir, `${v.name}.diagnostics.log`), diagnostics);
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const target = join(PACKAGE_ROOT, ".infra", "artifacts", "hosts", `${stamp}-${label}`);
      await mkdir(target, { recursive: true });
      const keep = (src: string) =>
        !/\.(qcow2|sock|sqlite|sqlite-wal|sqlite-shm)$/.test(src) &&
        !/(id_ed25519|vault-pass|age\.txt|noise_private\.key|tailscaled\.state)$/.test(src) &&
        !src.includes("/cp/") &&
        !src.includes("/repo/");
      await cp(dir, target, { recursive: true, filter: keep });
      for (const path of extra) {
        await cp(path, join(target, "extra", path.replace(/^\/+/, "").replace(/\//g, "_")), {
          recursive: true,
        }).catch(() => undefined);
      }
      return target;
    };
    const partial = {
      dir,
      images,
      vms,
      vm,
      nodes,
      headscale,
      link,
      aptProxy,
      sshKey,
      rootPassword,
      tailscaleBinDir,
      keepArtifacts,
      stop: async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };

    await Promise.all(vms.map((v) => v.start()));
    await Promise.all(vms.map((v) => link.attach(v.spec.linkTap)));
    const bootSeconds: Record<string, number> = {};
    const booted = Promise.all(
      vms.map(async (v) => {
        bootSeconds[v.name] = await v.waitForSsh();
        const suite = nodes.find((n) => n.name === v.name)?.suite;
        log(`${v.name} (${suite}): SSH answered ${bootSeconds[v.name]?.toFixed(0)}s after start`);
      }),
    );
    await Promise.all([booted, options.whileBooting?.(partial)]);
    return { ...partial, bootSeconds };
  } catch (error) {
    await stop();
    throw error;
  }
}
