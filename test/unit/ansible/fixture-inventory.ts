/**
 * Test helpers for the Ansible tree: the pinned tools on PATH, and an inventory made of the
 * committed static group vars plus the rendered files (the committed rendering when present,
 * else the fixture in test/fixtures/ansible/inventory in the same CONTRACT shape).
 */

import { existsSync } from "node:fs";
import { cp, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { toolPath, venvDir } from "../../../src/toolchain/paths.js";
import { loadVersions } from "../../../src/toolchain/versions.js";

export const ANSIBLE_DIR = join(PACKAGE_ROOT, "ansible");
export const FIXTURE_INVENTORY = join(PACKAGE_ROOT, "test", "fixtures", "ansible", "inventory");

/** The environment the tests run Ansible in: pinned tools first, no user config, quiet, no colour. */
export async function ansibleTestEnv(workDir: string): Promise<NodeJS.ProcessEnv> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: toolPath(process.env, versions),
    ANSIBLE_CONFIG: join(ANSIBLE_DIR, "ansible.cfg"),
    ANSIBLE_CACHE_PLUGIN_CONNECTION: join(workDir, "facts"),
    ANSIBLE_LOCAL_TEMP: join(workDir, "tmp"),
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_PYTHON_INTERPRETER: join(venvDir(process.env, versions), "bin", "python"),
  };
  delete env.ANSIBLE_VAULT_PASSWORD_FILE;
  return env;
}

/** The command that fixes a missing tool, for failure messages. */
export const INSTALL_HINT =
  "install the pinned Ansible tools: ./infra tools install ansible ansible-lint yamllint";

/**
 * Builds `<dir>/inventory`: the committed static group vars, and hosts.yml + group_vars/all/cluster.yml
 * from `source` ("fixture" or "committed"). Returns the path of hosts.yml.
 */
export async function buildInventory(
  dir: string,
  source: "fixture" | "committed" = "fixture",
): Promise<string> {
  const inv = join(dir, "inventory");
  await mkdir(join(inv, "group_vars", "all"), { recursive: true });
  const groupVars = join(ANSIBLE_DIR, "inventory", "group_vars");
  for (const entry of await readdir(groupVars, { recursive: true })) {
    const name = String(entry);
    if (!name.endsWith(".yml") || name.endsWith("cluster.yml") || name.includes("vault")) continue;
    await cp(join(groupVars, name), join(inv, "group_vars", name));
  }
  const from = source === "committed" ? join(ANSIBLE_DIR, "inventory") : FIXTURE_INVENTORY;
  await cp(join(from, "hosts.yml"), join(inv, "hosts.yml"));
  await cp(join(from, "group_vars", "all", "cluster.yml"), join(inv, "group_vars", "all", "cluster.yml"));
  return join(inv, "hosts.yml");
}

/** True when the config issue has committed the rendered inventory. */
export function committedInventoryExists(): boolean {
  return (
    existsSync(join(ANSIBLE_DIR, "inventory", "hosts.yml")) &&
    existsSync(join(ANSIBLE_DIR, "inventory", "group_vars", "all", "cluster.yml"))
  );
}
