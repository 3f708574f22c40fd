/**
 * A VM image: Debian 12 (bookworm) or 13 (trixie) built from Debian packages with debootstrap, made to look like a fresh
 * cloud VPS (root login by SSH key, a root password the provider set, python3, no firewall, a swap
 * file in use). Cached under the tool cache by a hash of its recipe, so only a recipe change rebuilds it.
 *
 * Per-instance data (hostname, SSH key, root password, the address on the private link) reaches
 * the guest on the kernel command line and is applied at boot by `infra-provision.service`, the
 * way a provider's cloud-init datasource would.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exec } from "../../../src/adapters/exec.js";
import { cacheRoot } from "../../../src/toolchain/paths.js";
import { recipeHash } from "../../../src/toolchain/versions.js";
import { withImageLock } from "./lock.js";

/** The Debian releases the roles support, by suite (both converge in the hosts tier). */
export const DEBIAN_SUITES = { bookworm: "12", trixie: "13" } as const;
export type DebianSuite = keyof typeof DEBIAN_SUITES;

export interface VmImage {
  suite: DebianSuite;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  /** Seconds the build took, or 0 when the cache answered. */
  buildSeconds: number;
}

/** The guest-side address of the host services reached through QEMU user networking (guestfwd). */
export const HOST_SERVICES_IP = "10.0.2.100";
export const APT_PROXY_GUEST_PORT = 3142;
export const HEADSCALE_GUEST_PORT = 8080;

/** What a minimal Debian cloud image has; nothing the roles under test are meant to install. */
const PACKAGES = [
  "systemd-sysv",
  "udev",
  "kmod",
  "dbus",
  "openssh-server",
  "python3",
  "sudo",
  "procps",
  "iproute2",
  "iputils-ping",
  "ca-certificates",
  "linux-image-cloud-amd64",
  "initramfs-tools",
];

const PROVISION_SCRIPT = `#!/bin/sh
# Applies the per-instance data from the kernel command line, as a provider's datasource would.
set -eu
arg() { sed -n "s/.*\\binfra\\.$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline; }
name=$(arg hostname)
if [ -n "$name" ]; then
  echo "$name" > /etc/hostname
  hostname "$name"
  grep -q " $name\\$" /etc/hosts || echo "127.0.1.1 $name" >> /etc/hosts
fi
key=$(arg ssh_key)
if [ -n "$key" ]; then
  install -d -m 0700 /root/.ssh
  echo "$key" | base64 -d > /root/.ssh/authorized_keys
  chmod 0600 /root/.ssh/authorized_keys
fi
pw=$(arg root_pw)
if [ -n "$pw" ]; then
  echo "root:$(echo "$pw" | base64 -d)" | chpasswd -e
fi
link=$(arg link_ip)
if [ -n "$link" ]; then
  printf '[Match]\\nName=eth1\\n\\n[Network]\\nAddress=%s\\nLinkLocalAddressing=no\\n' "$link" > /etc/systemd/network/20-eth1.network
fi
[ -e /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
if [ ! -e /swapfile ]; then
  fallocate -l 256M /swapfile
  chmod 0600 /swapfile
  mkswap /swapfile > /dev/null
fi
`;

const PROVISION_UNIT = `[Unit]
Description=Apply per-instance data (hostname, SSH key, network, swap file)
DefaultDependencies=no
# After the root file system is writable, not after local-fs.target: on Debian 13 that comes after
# tmp.mount, which comes after swap, so Before=swapfile.swap made an ordering cycle that systemd broke by
# dropping this unit on some boots (no SSH key and no host keys: sshd failed to start).
After=systemd-remount-fs.service
Before=sysinit.target swapfile.swap systemd-networkd.service ssh.service
ConditionKernelCommandLine=infra.hostname

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/infra-provision

[Install]
WantedBy=sysinit.target
`;

/** Files written into the root file system, path -> content (mode 0644 unless listed in MODES). */
function files(mirrorSources: string): Record<string, string> {
  return {
    "/etc/fstab": "/dev/vda / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\n",
    "/etc/hostname": "debian\n",
    "/etc/hosts": "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
    // No resolver: the VMs reach nothing but the host services and each other.
    "/etc/resolv.conf": "# no name servers: this VM only reaches addresses it is given\n",
    "/etc/apt/sources.list.d/debian.sources": mirrorSources,
    "/etc/apt/sources.list": "",
    // The provider's package mirror: a caching proxy on the host loopback that forwards only to
    // the Debian mirrors the host itself uses.
    "/etc/apt/apt.conf.d/90infra-proxy": `Acquire::http::Proxy "http://${HOST_SERVICES_IP}:${APT_PROXY_GUEST_PORT}";\n`,
    "/etc/systemd/network/10-eth0.network":
      "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n\n[DHCPv4]\nUseDNS=false\n",
    // What Debian's cloud images ship when the provider sets a root password.
    "/etc/ssh/sshd_config.d/50-cloud-init.conf": "PasswordAuthentication yes\nPermitRootLogin yes\n",
    "/usr/local/sbin/infra-provision": PROVISION_SCRIPT,
    "/etc/systemd/system/infra-provision.service": PROVISION_UNIT,
  };
}
const MODES: Record<string, number> = { "/usr/local/sbin/infra-provision": 0o755 };

/** Units masked for a quiet, deterministic guest under emulation (documented in docs/testing.md). */
const MASKED = ["apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"];

const DISK_SIZE = "4G";
const RECIPE_VERSION = 1;

/** The Debian mirror the host's own apt uses (deb822 or one-line format): the VM uses the same. */
export async function hostMirrors(
  suite: DebianSuite = "bookworm",
): Promise<{ main: string; sources: string; hosts: string[] }> {
  const deb822 = await readFile("/etc/apt/sources.list.d/debian.sources", "utf8").catch(() => "");
  const oneLine = await readFile("/etc/apt/sources.list", "utf8").catch(() => "");
  const uris = [
    ...[...deb822.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1] ?? ""),
    ...[...oneLine.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map((m) => m[1] ?? ""),
  ].filter((u) => u.startsWith("http://"));
  const main = uris.find((u) => !u.includes("security")) ?? uris[0];
  if (!main) {
    throw new Error(
      "the host's apt sources name no http:// Debian mirror; the VM image is built from the host's mirror",
    );
  }
  const security =
    uris.find((u) => u.includes("security")) ?? main.replace(/\/debian\/?$/, "/debian-security");
  const sources = [
    `Types: deb\nURIs: ${main}\nSuites: ${suite} ${suite}-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    `Types: deb\nURIs: ${security}\nSuites: ${suite}-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  ].join("\n");
  const hosts = [...new Set([main, security].map((u) => new URL(u).host))];
  return { main, sources, hosts };
}

export function imagesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), "images");
}

/** Returns the cached image of a release for the current recipe, building it first when absent. */
export async function ensureImage(
  suite: DebianSuite,
  log: (line: string) => void = () => {},
): Promise<VmImage> {
  const mirrors = await hostMirrors(suite);
  const recipe = {
    version: RECIPE_VERSION,
    suite,
    packages: PACKAGES,
    files: files(mirrors.sources),
    masked: MASKED,
    mirror: mirrors.main,
    size: DISK_SIZE,
  };
  const dir = join(imagesDir(), `debian${DEBIAN_SUITES[suite]}-${recipeHash(recipe)}`);
  const image = (buildSeconds: number): VmImage => ({
    suite,
    dir,
    disk: join(dir, "disk.raw"),
    kernel: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
    buildSeconds,
  });
  if (existsSync(join(dir, "recipe.json"))) return image(0);
  return withImageLock(`debian${DEBIAN_SUITES[suite]}`, async () => {
    if (existsSync(join(dir, "recipe.json"))) return image(0);
    const started = Date.now();
    const work = `${dir}.tmp-${process.pid}`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      await build(work, suite, recipe.files, mirrors.main, log);
      await writeFile(join(work, "recipe.json"), `${JSON.stringify(recipe, null, 2)}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(work, dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return image(Math.round((Date.now() - started) / 1000));
  });
}

async function build(
  work: string,
  suite: DebianSuite,
  fileMap: Record<string, string>,
  mirror: string,
  log: (line: string) => void,
): Promise<void> {
  const root = join(work, "rootfs");
  log(`debootstrap ${suite} from ${mirror}`);
  await exec(
    "debootstrap",
    [
      "--variant=minbase",
      `--include=${PACKAGES.join(",")}`,
      "--components=main",
      "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
      suite,
      root,
      mirror,
    ],
    { onLine: (line) => log(`${suite}: ${line}`), timeoutMs: 1_200_000 },
  );
  const hostResolv = await readFile("/etc/resolv.conf", "utf8");
  for (const [path, content] of Object.entries(fileMap)) {
    const target = join(root, path);
    await mkdir(join(target, ".."), { recursive: true });
    await rm(target, { force: true });
    await writeFile(target, content);
    await chmod(target, MODES[path] ?? 0o644);
  }
  // Fresh package lists, as a cloud image ships them (fetched on the host, through its resolver).
  await writeFile(join(root, "etc/resolv.conf"), hostResolv);
  log(`${suite}: apt-get update in the image`);
  await exec("chroot", [root, "apt-get", "update", "-q"], { timeoutMs: 600_000 });
  await exec("chroot", [root, "apt-get", "clean"]);
  await writeFile(join(root, "etc/resolv.conf"), fileMap["/etc/resolv.conf"] ?? "");
  await exec("chroot", [root, "systemctl", "enable", "systemd-networkd.service", "infra-provision.service"]);
  for (const unit of MASKED) {
    const link = join(root, "etc/systemd/system", unit);
    await rm(link, { force: true });
    await symlink("/dev/null", link);
  }
  // Per-instance secrets are made at first boot, never baked in.
  await exec("sh", [
    "-c",
    `rm -f ${root}/etc/ssh/ssh_host_* ${root}/etc/machine-id && touch ${root}/etc/machine-id`,
  ]);
  await exec("chroot", [root, "passwd", "-l", "root"]);
  const boot = join(root, "boot");
  await exec("cp", ["-L", join(boot, "..", "vmlinuz"), join(work, "vmlinuz")]);
  await exec("cp", ["-L", join(boot, "..", "initrd.img"), join(work, "initrd.img")]);
  await chmod(join(work, "vmlinuz"), 0o644);
  log(`${suite}: packing the root file system (mkfs.ext4 -d)`);
  await exec("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", root, join(work, "disk.raw"), DISK_SIZE]);
  await rm(root, { recursive: true, force: true });
}
