/**
 * `infra plan`: reads cluster.yaml (or the example), the playbooks and the GitOps tree, and shows
 * what `infra up` would do. No credentials, no network, no writes.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadClusterConfig } from "../config/load.js";
import { loadYaml } from "../config/yaml-data.js";
import type { CommandContext } from "../context.js";
import { formatLocation } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { scanApplications } from "./argo-apps.js";
import { renderIngress } from "./ingress.js";
import { buildPlan, type Plan, type PlanVersion } from "./plan.js";
import { readPlaybooks } from "./playbooks.js";
import { scanRouteHosts } from "./routes.js";

export interface PlanOptions {
  config?: string;
}

export async function planCommand(ctx: CommandContext, options: PlanOptions): Promise<Outcome<Plan>> {
  const { config, source, warnings } = await loadClusterConfig(ctx, options.config, {
    reportWarnings: false,
  });
  const root = repositoryRoot(ctx.cwd);
  const [playbooks, scan, versions, routes] = await Promise.all([
    readPlaybooks(root),
    scanApplications(root),
    pinnedVersions(root),
    scanRouteHosts(root, config.domain),
  ]);
  const plan = buildPlan({
    config,
    source,
    warnings,
    playbooks,
    applications: scan.applications,
    unreadableManifests: scan.unreadable,
    versions,
    routes,
  });
  return outcome(plan, renderPlan);
}

/** The repository whose ansible/ and kubernetes/ trees describe `up`: the working directory, else the bundled one. */
function repositoryRoot(cwd: string): string {
  return existsSync(join(cwd, "ansible")) || existsSync(join(cwd, "kubernetes")) ? cwd : PACKAGE_ROOT;
}

/** Versions pinned in the repository: role defaults (`*_version`) and the operator tools. */
async function pinnedVersions(root: string): Promise<PlanVersion[]> {
  const versions: PlanVersion[] = [];
  const rolesDir = join(root, "ansible", "roles");
  if (existsSync(rolesDir)) {
    for (const role of (await readdir(rolesDir)).sort()) {
      const file = join(rolesDir, role, "defaults", "main.yml");
      if (!existsSync(file)) continue;
      // Top-level `<name>_version: <literal>` lines; a regular expression is enough and much cheaper
      // than parsing every defaults file.
      const text = await readFile(file, "utf8");
      for (const match of text.matchAll(
        /^([a-z][a-z0-9_]*_version):[ \t]*["']?([^"'\s#{}]+)["']?[ \t]*(?:#.*)?$/gm,
      )) {
        const [, key = "", value = ""] = match;
        versions.push({ component: key, version: value, source: `ansible/roles/${role}/defaults/main.yml` });
      }
    }
  }
  const toolsFile = join(root, "tools", "versions.yaml");
  if (existsSync(toolsFile)) {
    try {
      const parsed = loadYaml(await readFile(toolsFile, "utf8"));
      const file = (parsed.ok ? parsed.value : {}) as {
        tools?: Record<string, { version?: unknown; group?: unknown }>;
      } | null;
      const tools = file?.tools ?? {};
      for (const [name, tool] of Object.entries(tools)) {
        // The user group: what operating the cluster needs (the tests group serves the test tiers).
        if (typeof tool?.version === "string" && tool.group === "user") {
          versions.push({ component: name, version: tool.version, source: "tools/versions.yaml" });
        }
      }
    } catch {
      // A broken tools file is reported by `infra doctor`; the plan just leaves the tools out.
    }
  }
  return versions;
}

function table(rows: string[][], indent = "  "): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) =>
    `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd(),
  );
}

export function renderPlan(plan: Plan): string {
  const out: string[] = [];
  const c = plan.cluster;
  out.push(
    `Plan for cluster ${c.name} (${c.domain}) from ${plan.source.file}${plan.source.origin === "example" ? " — the example" : ""}`,
  );
  out.push(
    `  K3s ${c.k3sVersion}, pods ${c.clusterCidr}, services ${c.serviceCidr}, API ${c.apiHostname}:6443 (tailnet), Tailscale tags ${c.tailscale.tags.join(",")}${c.tailscale.loginServer ? ` via ${c.tailscale.loginServer}` : ""}`,
  );
  out.push("");

  const providers = Object.entries(plan.summary.byProvider)
    .map(([provider, roles]) => `${provider} ${roles.server.length + roles.agent.length}`)
    .join(", ");
  out.push(
    `Nodes: ${plan.summary.servers} server(s), ${plan.summary.agents} agent(s), ${plan.summary.ingress} ingress — ${providers}`,
  );
  const sorted = [...plan.nodes].sort(
    (a, b) => (a.role === b.role ? 0 : a.role === "server" ? -1 : 1) || a.provider.localeCompare(b.provider),
  );
  out.push(
    ...table([
      ["ROLE", "NAME", "PROVIDER", "REGION", "NODE-IP (tailnet)", "EXTERNAL-IP", "INGRESS", "K3S START"],
      ...sorted.map((n) => [
        n.role,
        n.name,
        n.provider,
        n.region,
        n.nodeIp,
        n.externalIp,
        n.ingress ? "yes" : "no",
        n.join === "cluster-init" ? "cluster-init (first server)" : `join ${n.join}`,
      ]),
    ]),
  );
  out.push("");

  out.push("Steps of `infra up`:");
  for (const step of plan.steps) out.push(`  ${step.step}. ${step.title}`, `     ${step.detail}`);
  out.push("");

  out.push("Playbooks and roles per host:");
  out.push(
    ...table(
      sorted.map((n) => [
        n.name,
        n.playbooks.map((p) => `${p.playbook}: ${p.roles.join(", ")}`).join("  ->  "),
      ]),
    ),
  );
  const documented = plan.playbooks.filter((b) => b.source === "documented").map((b) => b.file);
  if (documented.length > 0) out.push(`  (${documented.join(", ")} not found: showing the documented roles)`);
  out.push("");

  out.push(`DNS records OpenTofu manages in zone ${plan.dns.zone}:`);
  if (plan.dns.records.length === 0) out.push("  (none)");
  else
    out.push(
      ...table(
        plan.dns.records.map((r) => [
          r.name,
          r.type,
          r.content,
          r.proxied ? "proxied" : "DNS only",
          `ttl ${r.ttl}`,
        ]),
      ),
    );
  for (const note of plan.dns.notes) out.push(`  note: ${note}`);
  out.push("");

  out.push(...renderIngress(plan.ingress));
  out.push("");

  const b = plan.bucket;
  out.push("R2 bucket OpenTofu manages:");
  out.push(
    `  ${b.name} (location ${b.location ?? "automatic"}, ${b.storage_class}, jurisdiction ${b.jurisdiction}) at ${b.endpoint}`,
  );
  out.push(
    `  Velero under ${b.veleroPrefix}/ (daily ${plan.backups.daily.schedule} keep ${plan.backups.daily.ttl}; critical ${plan.backups.critical.schedule} keep ${plan.backups.critical.ttl})` +
      (b.etcdFolder ? `; K3s etcd snapshots under ${b.etcdFolder}/` : "; etcd snapshots to R2 disabled"),
  );
  out.push("");

  out.push("Argo CD applications in sync-wave order:");
  if (plan.applications.length > 0) {
    out.push(
      ...table([
        ["WAVE", "NAME", "SOURCE", "REVISION", "DESTINATION"],
        ...plan.applications.map((a) => {
          const source = a.sources[0];
          const what = source?.chart
            ? `chart ${source.chart}`
            : source?.path
              ? source.path
              : (source?.repoURL ?? "-");
          const more = a.sources.length > 1 ? ` (+${a.sources.length - 1})` : "";
          return [
            String(a.wave),
            a.kind === "ApplicationSet" ? `${a.name} (set)` : a.name,
            `${what}${more}`,
            source?.targetRevision ?? "-",
            a.destinationNamespace ?? "-",
          ];
        }),
      ]),
    );
  }
  if (plan.applicationsNote) out.push(`  (${plan.applicationsNote})`);
  out.push("");

  out.push("Pinned versions:");
  out.push(...table(plan.versions.map((v) => [v.component, v.version, v.source])));

  if (plan.warnings.length > 0) {
    out.push("", `Warnings (${plan.warnings.length}):`);
    for (const w of plan.warnings) out.push(`  ! ${formatLocation(w.location)}: ${w.message} [${w.code}]`);
  }
  out.push("", "Nothing was changed: `infra plan` only reads files. Apply with `infra up`.");
  return out.join("\n");
}
