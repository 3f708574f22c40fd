/**
 * What a user does on their own machine before `infra up`, for the hosts tier: a copy of the repository,
 * `infra init` with the two VMs as nodes, the edits docs/configuration.md describes (the headscale URL,
 * the SSH key), and the test's inventory overrides (ansible/inventory/host_vars/<node>.yml: how this
 * machine reaches each VM and where the Tailscale binaries come from). Every `infra` command then runs in
 * that repository with the environment `.envrc` would give it.
 */
import { randomBytes } from "node:crypto";
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, parseDocument, stringify } from "yaml";
import { exec } from "../../../src/adapters/exec.js";
import { cacheRoot } from "../../../src/toolchain/paths.js";
import { describeInfra, type InfraRun, infra, makeRepository } from "./repo.js";
import { TAILSCALE_TAGS, type Testbed } from "./testbed.js";

export interface User {
  repo: string;
  /** The environment of every infra run (what .envrc sets, plus the harness's SSH timing). */
  env: NodeJS.ProcessEnv;
  vaultPasswordFile: string;
  /** Every secret the runs use, to check that none reaches a log. */
  secrets: string[];
  /** Every infra run's progress, for the artifacts. */
  logFile: string;
  /** The SSH known hosts of every run (ANSIBLE_SSH_ARGS names it; a VM started afresh has a new host key). */
  knownHostsFile: string;
  /** Runs infra in the repository; `env` replaces the user's environment for this run. */
  infra(args: string[], options?: RunOptions): Promise<InfraRun>;
  /** The vault's values; `setVault` re-encrypts it with changes, as `ansible-vault edit` would. */
  vault: Record<string, string>;
  setVault(values: Record<string, string>): Promise<void>;
  /** The inventory override of one node (a documented Ansible mechanism; see docs/configuration.md). */
  hostVarsFile(node: string): string;
  writeHostVars(node: string, vars: Record<string, unknown>): Promise<void>;
  hostVars: Record<string, Record<string, unknown>>;
}

export type RunOptions = Omit<Parameters<typeof infra>[2], "env" | "logFile"> & { env?: NodeJS.ProcessEnv };

/** The VMs' private link, their "public" interface (test/hosts/harness/image.ts names it). */
export const LINK_INTERFACE = "eth1";

/** The vault variable of the agents' auth key (the user's choice; docs/networking.md). */
export const AGENT_KEY_VARIABLE = "vault_tailscale_agent_authkey";

export const CLUSTER = {
  name: "hosts-test",
  domain: "hosts.test",
  accountId: "0123456789abcdef0123456789abcdef",
  email: "ops@hosts.test",
  repoURL: "https://git.hosts.test/infra-k3s.git",
};

/**
 * The repository as `infra init` leaves it, with the test's settings. Returns the user and the results of
 * the commands run so far (init, configure), which the test asserts.
 */
export async function prepareUser(
  bed: Omit<Testbed, "bootSeconds">,
): Promise<{ user: User; runs: InfraRun[] }> {
  const home = join(bed.dir, "home");
  await mkdir(home, { recursive: true });
  const repo = await makeRepository(join(bed.dir, "repo"));
  const vaultPasswordFile = join(bed.dir, "vault-pass");
  const ageKeyFile = join(bed.dir, "age.txt");
  const knownHostsFile = join(bed.dir, "known_hosts");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    INFRA_CACHE_DIR: cacheRoot(process.env),
    SOPS_AGE_KEY_FILE: ageKeyFile,
    ANSIBLE_VAULT_PASSWORD_FILE: vaultPasswordFile,
    // The harness's SSH timing, not the product's: a host whose network is cut is given up 40 s later (the
    // master's keep-alives end it after 17 s, then a fresh connection waits ANSIBLE_TIMEOUT for a greeting),
    // and each run's known hosts are its own (fresh VMs reuse loopback ports).
    ANSIBLE_SSH_ARGS: [
      "-o ControlMaster=auto -o ControlPersist=60s",
      "-o ServerAliveInterval=5 -o ServerAliveCountMax=3",
      `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${knownHostsFile}`,
    ].join(" "),
    ANSIBLE_TIMEOUT: "20",
  };
  delete env.KUBECONFIG;
  const logFile = join(bed.dir, "infra.log");
  const run = (args: string[], options: RunOptions = {}) =>
    infra(repo, args, { ...options, env: options.env ?? env, logFile });
  const runs: InfraRun[] = [];

  // The four values init asks for, from the environment (never flags). The Cloudflare token and the R2
  // keys are never used here (DNS is skipped, etcd snapshots are off), so random values stand in.
  const given = {
    TAILSCALE_AUTH_KEY: await bed.headscale.createAuthKey(TAILSCALE_TAGS.server),
    CLOUDFLARE_API_TOKEN: randomBytes(30).toString("base64url"),
    R2_ACCESS_KEY_ID: randomBytes(16).toString("hex"),
    R2_SECRET_ACCESS_KEY: randomBytes(32).toString("hex"),
  };
  runs.push(
    await run(
      [
        "init",
        "--name",
        CLUSTER.name,
        "--domain",
        CLUSTER.domain,
        "--cloudflare-account-id",
        CLUSTER.accountId,
        "--acme-email",
        CLUSTER.email,
        "--git-repo-url",
        CLUSTER.repoURL,
        ...bed.nodes.flatMap((n) => [
          "--node",
          `name=${n.name},role=${n.role},provider=generic,region=loopback,ip=${n.publicIp}${n.role === "server" ? ",ingress" : ""}`,
        ]),
        "--age-key-file",
        ageKeyFile,
      ],
      { env: { ...env, ...given } },
    ),
  );
  if (runs[0]?.code !== 0) throw new Error(describeInfra(runs[0] as InfraRun));

  // The edits a headscale user makes to what init wrote (docs/configuration.md): the control server's
  // URL and the SSH key to use. Comments and order are kept (a YAML document edit, as an editor would).
  const configPath = join(repo, "cluster.yaml");
  const doc = parseDocument(await readFile(configPath, "utf8"));
  doc.setIn(["tailscale", "loginServer"], bed.headscale.serverUrl);
  doc.setIn(["ssh", "privateKeyFile"], bed.sshKey);
  await writeFile(configPath, doc.toString());

  // The vault init wrote (the K3s token generated), plus the user's additions, as `ansible-vault edit`
  // would: headscale's API key (vault.yml.example), so the preflight checks the auth key, and the agents'
  // own key, which group_vars/k3s_workers.yml names (docs/networking.md: headscale gives a device the
  // tags of its key, so each role joins with its own).
  const vault = await decryptVault(repo, vaultPasswordFile);
  vault.vault_tailscale_api_key = await bed.headscale.createApiKey();
  vault[AGENT_KEY_VARIABLE] = await bed.headscale.createAuthKey(TAILSCALE_TAGS.agent);
  await encryptVault(repo, vaultPasswordFile, vault);
  await appendFile(
    join(repo, "ansible", "inventory", "group_vars", "k3s_workers.yml"),
    `# The agents join with their own headscale key (their role's tags): docs/networking.md.\ntailscale_authkey: "{{ ${AGENT_KEY_VARIABLE} }}"\n`,
  );
  const secrets = [...Object.values(vault), ...Object.values(given)];

  const hostVars: Record<string, Record<string, unknown>> = {};
  const hostVarsFile = (node: string) => join(repo, "ansible", "inventory", "host_vars", `${node}.yml`);
  const writeHostVars = async (node: string, vars: Record<string, unknown>) => {
    hostVars[node] = vars;
    await mkdir(join(repo, "ansible", "inventory", "host_vars"), { recursive: true });
    await writeFile(
      hostVarsFile(node),
      `---\n# How this machine reaches ${node} and installs Tailscale on it (docs/configuration.md, "Inventory overrides").\n${stringify(vars)}`,
    );
  };
  for (const vm of bed.vms) {
    await writeHostVars(vm.name, {
      // SSH goes through QEMU's port forward on the loopback; sshd in the guest listens on 22.
      ansible_host: "127.0.0.1",
      ansible_port: vm.spec.sshPort,
      firewall_ssh_port: 22,
      // Tailscale's package servers are out of reach here: the binaries built by `./infra tools install`.
      tailscale_install_method: "binary",
      tailscale_binary_src_dir: bed.tailscaleBinDir,
      // headscale gives a node the tags of its pre-auth key and refuses tags the node asks for.
      tailscale_advertise_tags: false,
      // The private link is the VMs' "internet"; their default route is QEMU's user network (eth0), from
      // which the role would otherwise take the public interface (tunnel mode denies 80/443 on it).
      firewall_public_interface: LINK_INTERFACE,
      // Mitogen's keep-alive, as ANSIBLE_SSH_ARGS above sets OpenSSH's (Mitogen puts its own first).
      mitogen_ssh_keepalive_interval: 5,
      mitogen_ssh_keepalive_count: 3,
    });
  }

  runs.push(await run(["configure"]));
  runs.push(await run(["check"]));
  return {
    user: {
      repo,
      env,
      vaultPasswordFile,
      secrets,
      logFile,
      knownHostsFile,
      infra: run,
      vault,
      setVault: async (values) => {
        Object.assign(vault, values);
        secrets.push(...Object.values(values));
        await encryptVault(repo, vaultPasswordFile, vault);
      },
      hostVarsFile,
      writeHostVars,
      hostVars,
    },
    runs,
  };
}

/** The vault's values (ansible-vault view). */
async function decryptVault(repo: string, passwordFile: string): Promise<Record<string, string>> {
  const vault = join(repo, "ansible", "inventory", "group_vars", "all", "vault.yml");
  const view = await exec("ansible-vault", ["view", "--vault-password-file", passwordFile, vault]);
  return parse(view.stdout) as Record<string, string>;
}

/** Writes the encrypted vault (ansible-vault encrypt, the plain text only briefly on disk, 0600). */
async function encryptVault(
  repo: string,
  passwordFile: string,
  values: Record<string, string>,
): Promise<void> {
  const vault = join(repo, "ansible", "inventory", "group_vars", "all", "vault.yml");
  const plain = join(repo, "..", "vault.plain.yml");
  await writeFile(plain, `---\n${stringify(values)}`, { mode: 0o600 });
  try {
    await exec("ansible-vault", ["encrypt", "--vault-password-file", passwordFile, "--output", vault, plain]);
  } finally {
    await rm(plain, { force: true });
  }
}
