/**
 * `infra dns plan` and `infra dns apply`: OpenTofu in tofu/ with the variables `infra configure`
 * rendered from cluster.yaml, providers from the local mirror, progress from tofu's -json stream.
 */
import { join } from "node:path";
import {
  type ChangeAction,
  type ChangeSummary,
  type PlannedChange,
  runJson,
  type TofuMessage,
  type TofuRun,
  tofuEnv,
  tofuInit,
} from "../adapters/tofu.js";
import { type AttributeChange, planAttributes } from "../adapters/tofu-show.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { confirmAction } from "../ui/confirm.js";
import { type DnsPreflight, dnsPreflight } from "./preflight.js";

export interface DnsApplyOptions {
  yes: boolean;
  dryRun: boolean;
}

/** A planned change with what it does to each attribute (from `tofu show -json`). */
export type DetailedChange = PlannedChange & { attributes?: AttributeChange[] };

export interface DnsResult {
  operation: "plan" | "apply";
  zone: string;
  bucket: string;
  /** True when tofu apply ran and changed something. */
  applied: boolean;
  changes: DetailedChange[];
  summary: ChangeSummary;
  warnings: string[];
}

/** Inside .terraform/ (git-ignored): a plan file can hold sensitive values. */
const PLAN_FILE = join(".terraform", "infra-dns.tfplan");

export async function dnsPlan(ctx: CommandContext): Promise<Outcome<DnsResult>> {
  const pre = await dnsPreflight(ctx.cwd, ctx.env);
  const env = await tofuEnv(ctx.env);
  const planned = await plan(ctx, pre, env);
  return outcome(result("plan", pre, planned, false), renderResult);
}

export async function dnsApply(ctx: CommandContext, options: DnsApplyOptions): Promise<Outcome<DnsResult>> {
  const pre = await dnsPreflight(ctx.cwd, ctx.env);
  const env = await tofuEnv(ctx.env);
  const planned = await plan(ctx, pre, env);
  const summary = summaryOf(planned);
  if (options.dryRun || total(summary) === 0)
    return outcome(result("plan", pre, planned, false), renderResult);
  await confirmAction(
    ctx,
    `Apply to Cloudflare (zone ${pre.vars.zone_name}, bucket ${pre.vars.r2_bucket.name}): ${sentence(summary)}?`,
    options.yes,
  );
  ctx.reporter.phase("Apply the plan");
  const applied = await runJson(["apply", "-json", "-input=false", "-lock-timeout=60s", PLAN_FILE], {
    cwd: pre.tofuDir,
    env,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onMessage: (m) => progress(ctx, m),
  }).catch((error: unknown) => {
    if (error instanceof InfraError && error.kind === "interrupted") {
      throw new InfraError(error.code, "tofu apply was interrupted", {
        kind: "interrupted",
        hint: "some records or the bucket may have changed: `infra dns plan` shows what is left to do, `infra dns apply` finishes it",
        cause: error,
      });
    }
    throw error;
  });
  const done = result("apply", pre, planned, true);
  done.summary = applied.summary ?? summary;
  done.warnings.push(...applied.warnings.map((w) => w.summary));
  return outcome(done, renderResult);
}

async function plan(ctx: CommandContext, pre: DnsPreflight, env: NodeJS.ProcessEnv): Promise<TofuRun> {
  ctx.reporter.phase("Initialise OpenTofu (providers from the local mirror, lock file read-only)");
  await tofuInit(pre.tofuDir, env);
  if (pre.vars.tunnel) {
    ctx.reporter.phase(
      `Check that the tunnel ${pre.vars.tunnel.name} is this project's (its OpenTofu state)`,
    );
    const { checkTunnelOwnership } = await import("../tunnel/ownership.js");
    await checkTunnelOwnership(ctx, pre.tofuDir, env, pre.vars.cloudflare_account_id, pre.vars.tunnel.name);
  }
  ctx.reporter.phase(
    `Plan DNS records in ${pre.vars.zone_name} and the R2 bucket ${pre.vars.r2_bucket.name}`,
  );
  const run = await runJson(
    ["plan", "-json", "-input=false", "-detailed-exitcode", "-lock-timeout=60s", `-out=${PLAN_FILE}`],
    {
      cwd: pre.tofuDir,
      env,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      okExitCodes: [2],
      onMessage: (m) => progress(ctx, m),
    },
  );
  if (run.result.exitCode === 2) {
    // attribute-level detail of each change, from the saved plan
    const attributes = await planAttributes(PLAN_FILE, {
      cwd: pre.tofuDir,
      env,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    run.changes = run.changes.map((c) => ({ ...c, attributes: attributes.get(c.address) ?? [] }));
  }
  return run;
}

/** One progress line per planned change and per resource being applied. */
export function progress(ctx: CommandContext, message: TofuMessage): void {
  const address = message.change?.resource?.addr ?? message.hook?.resource?.addr;
  switch (message.type) {
    case "planned_change":
      if (address && message.change?.action)
        ctx.reporter.step(address, `will be ${pastTense(message.change.action)}`);
      break;
    case "apply_start":
      if (address) ctx.reporter.step(address, `${message.hook?.action ?? "apply"}…`);
      break;
    case "apply_complete":
      if (address) ctx.reporter.step(address, `done (${message.hook?.elapsed_seconds ?? 0} s)`);
      break;
    case "apply_errored":
      if (address) ctx.reporter.step(address, "failed");
      break;
    case "diagnostic":
      if (message.diagnostic?.severity === "warning") ctx.reporter.warn(message.diagnostic.summary);
      break;
    default:
      break;
  }
}

function result(
  operation: DnsResult["operation"],
  pre: DnsPreflight,
  run: TofuRun,
  applied: boolean,
): DnsResult {
  return {
    operation,
    zone: pre.vars.zone_name,
    bucket: pre.vars.r2_bucket.name,
    applied,
    changes: run.changes.filter((c) => c.action !== "noop" && c.action !== "read"),
    summary: summaryOf(run),
    warnings: run.warnings.map((w) => w.summary),
  };
}

/** The change_summary message; counted from the planned changes if tofu sent none. */
export function summaryOf(run: Pick<TofuRun, "summary" | "changes">): ChangeSummary {
  if (run.summary) return run.summary;
  const count = (...actions: ChangeAction[]) => run.changes.filter((c) => actions.includes(c.action)).length;
  return { add: count("create", "replace"), change: count("update"), remove: count("delete", "replace") };
}

function total(summary: ChangeSummary): number {
  return summary.add + summary.change + summary.remove;
}

export function sentence(summary: ChangeSummary): string {
  return `${summary.add} to add, ${summary.change} to change, ${summary.remove} to destroy`;
}

const SYMBOL: Record<string, string> = {
  create: "+",
  update: "~",
  delete: "-",
  replace: "-/+",
  move: "→",
  import: "<=",
};

function pastTense(action: ChangeAction): string {
  const words: Record<string, string> = {
    create: "created",
    update: "updated in place",
    delete: "destroyed",
    replace: "replaced",
    read: "read",
    noop: "left unchanged",
    move: "moved",
    import: "imported",
    forget: "forgotten",
  };
  return words[action] ?? action;
}

function attributeText(a: AttributeChange): string {
  if (a.before !== undefined && a.after !== undefined) return `${a.before} -> ${a.after}`;
  if (a.after !== undefined) return a.after;
  return `${a.before} -> (removed)`;
}

export function renderResult(r: DnsResult): string {
  const lines = r.changes.flatMap((c) => [
    `  ${(SYMBOL[c.action] ?? "?").padEnd(3)} ${c.address}`,
    ...(c.attributes ?? []).map((a) => `        ${a.name}: ${attributeText(a)}`),
  ]);
  if (r.operation === "apply") {
    lines.push(
      `Applied: ${r.summary.add} added, ${r.summary.change} changed, ${r.summary.remove} destroyed.`,
    );
  } else if (total(r.summary) === 0) {
    lines.push(`No changes: zone ${r.zone} and bucket ${r.bucket} match the configuration.`);
  } else {
    lines.push(`Plan: ${sentence(r.summary)}.`, "Tip: infra dns apply");
  }
  for (const warning of r.warnings) lines.push(`warning: ${warning}`);
  return lines.join("\n");
}
