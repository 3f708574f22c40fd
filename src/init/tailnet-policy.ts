/**
 * The tailnet policy file for the cluster `infra init` describes. The committed tailnet/policy.hujson is
 * the example cluster's (rendered from cluster.example.yaml): it is replaced without asking, as the
 * example .sops.yaml is. A file of the user's own keeps every rule in it; the cluster's blocks are brought
 * up to date, or added beside other clusters' (`infra tailnet policy --write --adopt` does the same).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { validateConfigText } from "../config/load.js";
import type { ClusterConfig } from "../config/schema.js";
import { readConfigFile } from "../config/source-file.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { EXAMPLE_FILE } from "../root.js";
import type { StagedFiles } from "../secrets/staged.js";
import { mergePolicy, verifyMerged } from "../tailnet/merge.js";
import { clusterPolicy, renderPolicy } from "../tailnet/policy.js";
import { POLICY_FILE } from "../tailnet/policy-command.js";
import type { FileAction } from "./secrets.js";

export async function stageTailnetPolicy(
  root: string,
  config: ClusterConfig,
  staged: StagedFiles,
): Promise<{ path: string; action: FileAction } | undefined> {
  const path = join(root, POLICY_FILE);
  // A repository without the tailnet/ folder has chosen not to keep the policy in Git.
  if (!existsSync(dirname(path))) return undefined;
  const wanted = renderPolicy(clusterPolicy(config));
  const current = existsSync(path)
    ? await readConfigFile(
        path,
        POLICY_FILE,
        `${POLICY_FILE} must be a file: restore it (\`git checkout -- ${POLICY_FILE}\`) or remove what is there; nothing was changed`,
      )
    : undefined;
  let text = wanted;
  if (current !== undefined && current !== (await examplePolicy())) {
    text = mergePolicy(current, clusterPolicy(config), POLICY_FILE, { adopt: true }).text;
    verifyMerged(text, config, POLICY_FILE);
  }
  if (text === current) return { path: POLICY_FILE, action: "unchanged" };
  await staged.stage(path, text);
  return { path: POLICY_FILE, action: current === undefined ? "written" : "replaced" };
}

/** The policy the example cluster renders to: what a fresh clone holds. */
async function examplePolicy(): Promise<string | undefined> {
  const text = await readFile(join(PACKAGE_ROOT, EXAMPLE_FILE), "utf8").catch(() => undefined);
  const config = text === undefined ? undefined : validateConfigText(text, EXAMPLE_FILE).config;
  return config ? renderPolicy(clusterPolicy(config)) : undefined;
}
