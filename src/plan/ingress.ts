/**
 * The ingress part of the plan: the mode, the Cloudflare Tunnel (name, host names, origin, the
 * records OpenTofu creates for it), the records it takes over from external-dns, what external-dns
 * is told to leave alone, and what happens to public HTTP(S) on every node (firewall, ServiceLB).
 */
import {
  publicIngressEnabled,
  TUNNEL_ORIGIN_SERVICE,
  tunnelEnabled,
  tunnelHostnames,
  tunnelName,
  tunnelOriginTlsVerify,
} from "../config/derived.js";
import { coveringPattern } from "../config/hostnames.js";
import type { ClusterConfig, IngressMode } from "../config/schema.js";
import { externalDnsExclusions } from "../render/ingress.js";
import type { RouteHost } from "./routes.js";

/** What the tunnel's records point at before the tunnel exists (OpenTofu learns the id). */
export const TUNNEL_CNAME_TARGET = "<tunnel-id>.cfargotunnel.com";

export interface IngressPlan {
  mode: IngressMode;
  tunnel: {
    name: string;
    hostnames: string[];
    origin: string;
    originTlsVerify: boolean;
    records: { name: string; type: "CNAME"; content: string; proxied: true; ttl: 1 }[];
  } | null;
  /** HTTPRoute host names whose external-dns A record the tunnel's CNAME replaces. */
  replaces: { hostname: string; route: string; was: string; by: string }[];
  /** HTTPRoute host names external-dns still publishes (modes public and both). */
  public: { hostname: string; route: string }[];
  /** external-dns `excludeDomains` (the rendered component in kubernetes/cluster-values/ingress). */
  externalDnsExcludes: string[];
  /** Public 80/443 per node: open (ingress node), closed by default deny, or denied explicitly. */
  publicHttp: { node: string; state: "open" | "default-deny" | "denied"; serviceLb: boolean }[];
}

export function planIngress(config: ClusterConfig, routes: readonly RouteHost[]): IngressPlan {
  const tunnel = tunnelEnabled(config);
  const patterns = tunnel ? tunnelHostnames(config) : [];
  const replaces: IngressPlan["replaces"] = [];
  const published: IngressPlan["public"] = [];
  for (const route of routes) {
    const by = coveringPattern(patterns, route.hostname);
    if (by) {
      replaces.push({
        hostname: route.hostname,
        route: route.route,
        was: "A records to the ingress nodes (external-dns)",
        by,
      });
    } else if (publicIngressEnabled(config)) {
      published.push({ hostname: route.hostname, route: route.route });
    }
  }
  return {
    mode: config.ingress.mode,
    tunnel: tunnel
      ? {
          name: tunnelName(config),
          hostnames: patterns,
          origin: TUNNEL_ORIGIN_SERVICE,
          originTlsVerify: tunnelOriginTlsVerify(config),
          records: patterns.map((name) => ({
            name,
            type: "CNAME" as const,
            content: TUNNEL_CNAME_TARGET,
            proxied: true as const,
            ttl: 1 as const,
          })),
        }
      : null,
    replaces,
    public: published,
    externalDnsExcludes: tunnel ? externalDnsExclusions(config) : [],
    publicHttp: config.nodes.map((node) => ({
      node: node.name,
      state: node.ingress ? "open" : config.ingress.mode === "tunnel" ? "denied" : "default-deny",
      serviceLb: node.ingress,
    })),
  };
}

export function renderIngress(plan: IngressPlan): string[] {
  const out: string[] = [];
  out.push(`Ingress: ${plan.mode}`);
  const t = plan.tunnel;
  if (t) {
    out.push(
      `  Cloudflare Tunnel ${t.name} (remotely managed) serves ${t.hostnames.join(", ")}`,
      `    -> ${t.origin} (SNI from the request's host; origin certificate ${t.originTlsVerify ? "verified" : "not verified: Let's Encrypt staging"}), anything else -> 404`,
      "  records OpenTofu creates for it (proxied, ttl 1):",
      ...t.records.map((r) => `    ${r.name}  CNAME  ${r.content}`),
    );
    if (plan.replaces.length === 0) {
      out.push("  records it replaces: none (no HTTPRoute under kubernetes/ has a host name it serves)");
    } else {
      out.push("  records it replaces:");
      for (const r of plan.replaces)
        out.push(`    ${r.hostname} (${r.route}): ${r.was} -> the tunnel (${r.by})`);
    }
    out.push(`  external-dns leaves alone: ${plan.externalDnsExcludes.join(", ")}`);
  }
  if (plan.public.length > 0) {
    out.push(
      `  external-dns publishes: ${plan.public.map((p) => p.hostname).join(", ")} (A records to the ingress nodes)`,
    );
  }
  const open = plan.publicHttp.filter((n) => n.state === "open").map((n) => n.node);
  const denied = plan.publicHttp.filter((n) => n.state === "denied").map((n) => n.node);
  if (denied.length > 0) {
    out.push(
      `  public 80/443: denied on the public interface of ${denied.length === plan.publicHttp.length ? "every node" : denied.join(", ")} (firewall); ServiceLB binds no node`,
    );
  } else {
    out.push(
      `  public 80/443: open on ${open.join(", ") || "no node"} (firewall, ServiceLB); closed on the other nodes (default deny)`,
    );
  }
  return out;
}
