/** Helpers for the `infra check` static tests: throwaway repositories and a context without age keys. */
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { CommandContext } from "../../src/context.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { silentReporter } from "../../src/ui/reporter.js";

export const VALUES_FIXTURE = join(PACKAGE_ROOT, "test/fixtures/check/cluster-values/values.yaml");

/** A temp HOME-like folder so that no real age key of the machine is ever used. */
export async function isolatedEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(tmpdir(), "check-home-"));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(home, ".config"), ...extra };
  for (const key of ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD"])
    if (!(key in extra)) delete env[key];
  return env;
}

export function context(cwd: string, env: NodeJS.ProcessEnv): CommandContext {
  return { cwd, env, reporter: silentReporter, interactive: false };
}

/** A copy of the committed kubernetes/ tree (with the cluster values fixture while none is rendered). */
export async function copyCommittedTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "check-tree-"));
  await cp(join(PACKAGE_ROOT, "kubernetes"), join(root, "kubernetes"), { recursive: true });
  // What the stack rules read besides kubernetes/: the SOPS recipients, the OpenTofu DNS records and the
  // cluster's config (its domain and repository URL).
  for (const file of [".sops.yaml", "tofu/cluster.auto.tfvars.json", "cluster.example.yaml"]) {
    if (existsSync(join(PACKAGE_ROOT, file))) {
      await mkdir(dirname(join(root, file)), { recursive: true });
      await cp(join(PACKAGE_ROOT, file), join(root, file));
    }
  }
  const values = join(root, "kubernetes/cluster-values/values.yaml");
  if (!existsSync(values)) await cp(VALUES_FIXTURE, values);
  return root;
}

export async function writeRepo(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "check-repo-"));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
  }
  return root;
}
