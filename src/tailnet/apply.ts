/**
 * `infra tailnet apply`: brings the cluster's blocks of the policy on the control server up to date
 * with cluster.yaml. Reads the live policy, merges (markers.ts), lets the server validate the result,
 * shows the diff, asks, and writes only if nobody changed the policy in between. Any refusal leaves
 * the policy in force as it was: nothing is sent before every check has passed.
 */
import { createTwoFilesPatch } from "diff";
import { loadClusterConfig } from "../config/load.js";
import type { ClusterConfig } from "../config/schema.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { confirmAction } from "../ui/confirm.js";
import { type ControlServer, headscaleServer, tailscaleServer } from "./control-server.js";
import { cutOffError, describeCutOff, nodesCutOff } from "./lockout.js";
import { mergePolicy, verifyMerged } from "./merge.js";
import { type ClusterPolicy, clusterPolicy } from "./policy.js";

export interface ApplyOptions {
  config?: string | undefined;
  yes?: boolean;
  dryRun?: boolean;
  adopt?: boolean;
  /** Apply even when nodes on the tailnet lack the role tag the policy opens the ports to. */
  force?: boolean;
}

export interface ApplyResult {
  server: string;
  cluster: string;
  /** new: the server had no policy; updated: infra's blocks replaced; adopted: added to the user's policy. */
  mode: "new" | "updated" | "adopted";
  changed: boolean;
  applied: boolean;
  dryRun: boolean;
  diff: string;
  /** Tests the server could not evaluate yet (headscale: no device carries the tag or user yet). */
  heldBackTests: string[];
}

export function controlServerFor(config: ClusterConfig, ctx: CommandContext): ControlServer {
  const options = { signal: ctx.signal };
  return config.tailscale.loginServer
    ? headscaleServer(config.tailscale.loginServer, ctx.env, options)
    : tailscaleServer(ctx.env, options);
}

export async function tailnetApply(
  ctx: CommandContext,
  options: ApplyOptions,
): Promise<Outcome<ApplyResult>> {
  const { config } = await loadClusterConfig(ctx, options.config);
  const server = controlServerFor(config, ctx);
  const policy = clusterPolicy(config);
  ctx.reporter.phase(`Read the policy on ${server.name}`);
  const live = await server.get();
  const origin = `the policy on ${server.name}`;
  const merge = (candidate: ClusterPolicy) => {
    const merged = mergePolicy(live.text, candidate, origin, { adopt: options.adopt === true });
    verifyMerged(merged.text, config, origin);
    return merged;
  };
  let merged = merge(policy);
  const heldBackTests: string[] = [];
  const result = (applied: boolean, diff: string): ApplyResult => ({
    server: server.name,
    cluster: config.name,
    mode: merged.mode,
    changed: merged.text !== live.text,
    applied,
    dryRun: options.dryRun === true,
    diff,
    heldBackTests,
  });
  // Before the server's own validation: it would accept a policy that cuts the nodes off.
  ctx.reporter.phase(`Check that the nodes on ${server.name} carry the tags the policy opens the ports to`);
  const cutOff = nodesCutOff(config, await server.devices());
  if (merged.text === live.text) {
    // Nothing to write; a node without its role tag is cut off by the policy in force already.
    if (cutOff.length > 0)
      ctx.reporter.warn(`${describeCutOff(cutOff, server.name, true)}; give them their role tag`);
    return outcome(result(false, ""), renderApply);
  }
  if (cutOff.length > 0) {
    if (!options.force) throw cutOffError(cutOff, server.name);
    ctx.reporter.warn(`${describeCutOff(cutOff, server.name)} (applied anyway: --force)`);
  }

  ctx.reporter.phase(`Let ${server.name} validate the new policy`);
  const tests = await validateWithTests(server, policy, merge);
  heldBackTests.push(...tests.heldBack);
  merged = tests.merged;
  if (merged.text === live.text) return outcome(result(false, ""), renderApply);

  const diff = createTwoFilesPatch(
    "policy in force",
    "policy from cluster.yaml",
    live.text ?? "",
    merged.text,
    "",
    "",
    {
      context: 3,
    },
  );
  if (options.dryRun) return outcome(result(false, diff), renderApply);
  ctx.reporter.info(diff);
  await confirmAction(ctx, `Replace the tailnet policy on ${server.name} with the one above?`, options.yes);
  ctx.reporter.phase(`Write the policy to ${server.name}`);
  await server.set(merged.text, live.version);
  return outcome(result(true, diff), renderApply);
}

const NO_DEVICE = /resolved to no (IP addresses|nodes)/i;

/**
 * Validates the merged policy on the server. headscale evaluates a test against the devices it
 * has, so a test naming a tag or user no device carries yet fails there ("resolved to no IP
 * addresses") before the cluster's nodes have joined. Those tests are held back, one by one
 * (each checked alone by the server), and reported; every other test failure is the server's
 * verdict and stops the apply.
 */
async function validateWithTests(
  server: ControlServer,
  policy: ClusterPolicy,
  merge: (candidate: ClusterPolicy) => { text: string; mode: ApplyResult["mode"] },
): Promise<{ merged: { text: string; mode: ApplyResult["mode"] }; heldBack: string[] }> {
  const full = merge(policy);
  try {
    await server.validate(full.text);
    return { merged: full, heldBack: [] };
  } catch (error) {
    if (!(server.kind === "headscale" && error instanceof InfraError && NO_DEVICE.test(error.message)))
      throw error;
  }
  const bare = { ...policy, tests: [], sshTests: [] };
  await server.validate(merge(bare).text);
  const kept = { tests: [] as ClusterPolicy["tests"], sshTests: [] as ClusterPolicy["sshTests"] };
  const heldBack: string[] = [];
  const tryAlone = async (candidate: ClusterPolicy, label: string): Promise<boolean> => {
    try {
      await server.validate(merge(candidate).text);
      return true;
    } catch (error) {
      if (error instanceof InfraError && NO_DEVICE.test(error.message)) {
        heldBack.push(label);
        return false;
      }
      throw error;
    }
  };
  for (const test of policy.tests) {
    if (await tryAlone({ ...bare, tests: [test] }, `${test.src} (${test.proto}): ${test.why}`))
      kept.tests.push(test);
  }
  for (const test of policy.sshTests) {
    if (await tryAlone({ ...bare, sshTests: [test] }, `${test.src} (ssh): ${test.why}`))
      kept.sshTests.push(test);
  }
  const merged = merge({ ...policy, ...kept });
  await server.validate(merged.text);
  return { merged, heldBack };
}

export function renderApply(r: ApplyResult): string {
  const lines: string[] = [];
  if (!r.changed) {
    lines.push(
      `✓ the policy on ${r.server} already has cluster "${r.cluster}"'s rules from cluster.yaml; nothing to do`,
    );
  } else if (r.applied) {
    lines.push(
      `✓ wrote the policy to ${r.server} (${r.mode === "new" ? "it had none" : r.mode === "adopted" ? "the cluster's blocks added to your policy" : "the cluster's blocks replaced"})`,
    );
  } else {
    lines.push(
      r.diff.trimEnd(),
      "",
      `dry run: nothing was sent to ${r.server}; run without --dry-run to apply`,
    );
  }
  if (r.heldBackTests.length > 0) {
    lines.push(
      `note: ${r.heldBackTests.length} policy test(s) held back until a device carries their tag or user (headscale tests only what exists); re-run after the nodes joined:`,
      ...r.heldBackTests.map((t) => `  - ${t}`),
    );
  }
  return lines.join("\n");
}
