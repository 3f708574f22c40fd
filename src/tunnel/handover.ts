/**
 * `infra tunnel handover`: moves host names from external-dns's records to the tunnel without a
 * gap. external-dns is told to leave the tunnel's names alone (`excludeDomains`), and an excluded
 * name is neither updated nor deleted by it (plan.go filters both sides), so the A records it
 * published while the cluster was public stay and, being more specific, win over the tunnel's
 * wildcard. This deletes exactly those: address records that this cluster's external-dns owns
 * (its TXT registry record names the owner id) and that a tunnel wildcard CNAME already covers, so
 * every deleted name resolves to the tunnel at once. Nothing else in the zone is touched.
 */
import { tunnelHostnames, tunnelName, txtOwnerId, zoneName } from "../config/derived.js";
import { coveringPattern, parseHostnamePattern } from "../config/hostnames.js";
import type { CommandContext } from "../context.js";
import { type Outcome, outcome } from "../outcome.js";
import { confirmAction } from "../ui/confirm.js";
import { apiFromEnv, type DnsRecord } from "./cloudflare-api.js";
import { loadTunnelConfig, type TunnelCommandOptions } from "./tunnel-config.js";

export type HandoverOptions = TunnelCommandOptions;

export interface HandoverRecord {
  name: string;
  type: string;
  content: string;
  /** The tunnel record the name falls to once this one is gone. */
  to: string;
}

export interface HandoverResult {
  zone: string;
  tunnel: string;
  /** Address records handed to the tunnel, and their TXT ownership records. */
  records: HandoverRecord[];
  ownership: HandoverRecord[];
  /** Names the tunnel serves that still have another owner's or a non-wildcard record: left alone. */
  skipped: { name: string; why: string }[];
  deleted: boolean;
}

const ADDRESS_TYPES = new Set(["A", "AAAA"]);

/** external-dns's TXT registry content, e.g. "heritage=external-dns,external-dns/owner=demo,...". */
export function txtOwner(content: string): string | undefined {
  const text = content.replace(/^"|"$/g, "");
  if (!text.includes("heritage=external-dns")) return undefined;
  return /external-dns\/owner=([^,"]+)/.exec(text)?.[1];
}

/** The names external-dns gives a record's TXT registry entry: `<type>-<name>` (v0.18+) and the name itself. */
function registryNames(record: DnsRecord): string[] {
  return [`${record.type.toLowerCase()}-${record.name}`, record.name];
}

export function planHandover(
  records: readonly DnsRecord[],
  input: { patterns: readonly string[]; owner: string; tunnelId: string | undefined },
): Pick<HandoverResult, "records" | "ownership" | "skipped"> {
  const target = input.tunnelId ? `${input.tunnelId}.cfargotunnel.com` : undefined;
  const wildcards = new Map(
    records
      .filter(
        (r) => r.type === "CNAME" && r.name.startsWith("*.") && target !== undefined && r.content === target,
      )
      .map((r) => [r.name.slice(2), r.name]),
  );
  const owned = new Map<string, DnsRecord[]>();
  for (const record of records) {
    if (record.type !== "TXT" || txtOwner(record.content) !== input.owner) continue;
    owned.set(record.name, [...(owned.get(record.name) ?? []), record]);
  }
  const out: ReturnType<typeof planHandover> = { records: [], ownership: [], skipped: [] };
  for (const record of records) {
    if (!ADDRESS_TYPES.has(record.type)) continue;
    const pattern = coveringPattern(input.patterns, record.name);
    if (!pattern) continue;
    const txt = registryNames(record).flatMap((name) => owned.get(name) ?? []);
    if (txt.length === 0) {
      out.skipped.push({
        name: record.name,
        why: `not owned by this cluster's external-dns (owner id ${input.owner})`,
      });
      continue;
    }
    const parsed = parseHostnamePattern(pattern);
    const parent = record.name.slice(record.name.indexOf(".") + 1);
    const to = parsed?.wildcard ? wildcards.get(parent) : undefined;
    if (!to) {
      out.skipped.push({
        name: record.name,
        why: parsed?.wildcard
          ? `no tunnel wildcard CNAME *.${parent} to ${target ?? "the tunnel"} yet (run \`infra dns apply\`)`
          : "an exact tunnel name: its CNAME can only be created once this record is gone; switch with the wildcard first (docs/runbooks/switch-to-tunnel.md)",
      });
      continue;
    }
    out.records.push({ name: record.name, type: record.type, content: record.content, to });
    for (const t of txt) {
      if (!out.ownership.some((o) => o.name === t.name && o.content === t.content)) {
        out.ownership.push({ name: t.name, type: t.type, content: t.content, to });
      }
    }
  }
  return out;
}

export async function tunnelHandoverCommand(
  ctx: CommandContext,
  options: HandoverOptions,
): Promise<Outcome<HandoverResult>> {
  const { config } = await loadTunnelConfig(ctx, options, "to hand names to");
  const api = apiFromEnv(ctx.env, ctx.signal);
  const zone = zoneName(config);
  ctx.reporter.phase(`Read the records of ${zone} and the tunnel ${tunnelName(config)}`);
  const [zoneId, tunnels] = await Promise.all([
    api.zoneId(zone),
    api.tunnelsNamed(config.cloudflare.accountId, tunnelName(config)),
  ]);
  const records = await api.records(zoneId);
  const planned = planHandover(records, {
    patterns: tunnelHostnames(config),
    owner: txtOwnerId(config),
    tunnelId: tunnels[0]?.id,
  });
  const result: HandoverResult = { zone, tunnel: tunnelName(config), ...planned, deleted: false };
  if (options.dryRun || planned.records.length === 0) return outcome(result, render);
  await confirmAction(
    ctx,
    `Delete ${planned.records.length} external-dns record(s) and ${planned.ownership.length} ownership record(s) in ${zone}, so the names resolve to the tunnel?`,
    options.yes,
  );
  // Address records first: each name falls to the tunnel's wildcard the moment its record is gone.
  const byKey = new Map(records.map((r) => [`${r.name}/${r.type}/${r.content}`, r]));
  for (const r of [...planned.records, ...planned.ownership]) {
    const record = byKey.get(`${r.name}/${r.type}/${r.content}`);
    if (!record) continue;
    ctx.reporter.step(r.name, `delete ${r.type}`);
    await api.deleteRecord(zoneId, record.id);
  }
  result.deleted = true;
  return outcome(result, render);
}

function render(r: HandoverResult): string {
  const lines: string[] = [];
  const verb = r.deleted ? "deleted" : "would delete";
  for (const record of r.records)
    lines.push(
      `  ${verb}  ${record.name}  ${record.type} ${record.content}  -> resolves to the tunnel (${record.to})`,
    );
  for (const record of r.ownership) lines.push(`  ${verb}  ${record.name}  TXT (external-dns ownership)`);
  for (const s of r.skipped) lines.push(`  left alone  ${s.name}: ${s.why}`);
  if (r.records.length === 0)
    lines.push(`No external-dns record of ${r.zone} stands between the tunnel ${r.tunnel} and its names.`);
  else if (!r.deleted) lines.push("", "Tip: infra tunnel handover --yes");
  return lines.join("\n");
}
