/**
 * `infra tailnet policy`: prints the tailnet policy cluster.yaml asks for, or (--write) brings the
 * cluster's blocks of tailnet/policy.hujson up to date, keeping any rules of yours in that file.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadClusterConfig } from "../config/load.js";
import type { CommandContext } from "../context.js";
import { type Outcome, outcome } from "../outcome.js";
import { mergePolicy, verifyMerged } from "./merge.js";
import { type ClusterPolicy, clusterPolicy, renderPolicy } from "./policy.js";

/** The policy file in the repository (reviewed in Git; `infra check` reports it when stale). */
export const POLICY_FILE = "tailnet/policy.hujson";

export interface PolicyOptions {
  config?: string | undefined;
  write?: boolean;
  adopt?: boolean;
}

export interface PolicyResult {
  cluster: string;
  policy: ClusterPolicy;
  text: string;
  /** With --write: the file and whether it changed. */
  file?: { path: string; state: "written" | "unchanged" };
}

export async function tailnetPolicy(
  ctx: CommandContext,
  options: PolicyOptions,
): Promise<Outcome<PolicyResult>> {
  const { config } = await loadClusterConfig(ctx, options.config, { reportWarnings: false });
  const policy = clusterPolicy(config);
  if (!options.write) {
    return outcome({ cluster: config.name, policy, text: renderPolicy(policy) }, (r) => r.text.trimEnd());
  }
  const path = join(ctx.cwd, POLICY_FILE);
  const current = existsSync(path) ? await readFile(path, "utf8") : undefined;
  const merged = mergePolicy(current, policy, POLICY_FILE, { adopt: options.adopt === true });
  verifyMerged(merged.text, config, POLICY_FILE);
  const state = merged.text === current ? "unchanged" : "written";
  if (state === "written") {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.tmp-${process.pid}`;
    await writeFile(temporary, merged.text);
    await rename(temporary, path);
  }
  return outcome(
    { cluster: config.name, policy, text: merged.text, file: { path: POLICY_FILE, state } },
    (r) =>
      r.file?.state === "written"
        ? `✓ wrote ${POLICY_FILE}; review with \`git diff\`, then \`infra tailnet apply\``
        : `= ${POLICY_FILE} already matches cluster.yaml`,
  );
}
