/**
 * Rules of the ingress modes (cluster.yaml `ingress.mode`, rendered into tofu/cluster.auto.tfvars.json):
 * the Cloudflare Tunnel's ingress rule points at a Service and port the cluster has, every HTTPRoute
 * host name is served by the tunnel or by a public record, and no proxied record asks for a TTL.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readConfigDocument } from "../../config/document.js";
import { coveringPattern } from "../../config/hostnames.js";
import type { Finding } from "../findings.js";
import { at, get, is, list, nameOf, namespaceOf, type Resource, str } from "../resources.js";
import type { Json } from "../source.js";
import { TOFU_VARS } from "./dns.js";
import { concrete } from "./gateway-model.js";
import { helmSources } from "./helm-values.js";
import { inside } from "./hostnames.js";
import type { Rule } from "./rule.js";

interface TofuVars {
  ingress_mode?: unknown;
  tunnel?: { name?: unknown; hostnames?: unknown; origin_service?: unknown } | null;
  dns_records?: unknown;
}

/** The rendered OpenTofu variables, and the line of a value in them. */
function readTofuVars(root: string): { vars: TofuVars; line(path: (string | number)[]): number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(root, TOFU_VARS), "utf8");
  } catch {
    return undefined;
  }
  const read = readConfigDocument(text);
  if (!read.ok || typeof read.document.data !== "object" || read.document.data === null) return undefined;
  const { document } = read;
  return {
    vars: document.data as TofuVars,
    line: (path) => {
      const offset = document.offsetOf(path);
      return offset === undefined ? 1 : document.position(offset).line;
    },
  };
}

function tunnelHostnames(vars: TofuVars): string[] {
  return Array.isArray(vars.tunnel?.hostnames) ? vars.tunnel.hostnames.map(String) : [];
}

// ---- tunnel-origin-service ------------------------------------------------------------------------

interface ServicePorts {
  ports: Map<number, string>;
  /** Where the Service comes from, for messages. */
  from: string;
  /** Ports whose entrypoint redirects HTTP to HTTPS. */
  redirects: Set<number>;
}

/**
 * The Service K3s's bundled Traefik chart creates (kube-system/traefik), with the ports the tree's
 * HelmChartConfig gives it: the chart exposes `web` on 80 and `websecure` on 443 unless told otherwise.
 */
function bundledTraefik(resources: readonly Resource[]): ServicePorts | undefined {
  const config = helmSources(resources).find(
    (s) => is(s.resource, "HelmChartConfig", "helm.cattle.io") && s.chart === "traefik",
  );
  const values = config?.values;
  if (get(values, "service", "enabled") === false) return undefined;
  const ports = new Map<number, string>();
  const redirects = new Set<number>();
  const defaults: Record<string, { exposedPort: number; expose: boolean }> = {
    web: { exposedPort: 80, expose: true },
    websecure: { exposedPort: 443, expose: true },
  };
  const configured = get(values, "ports");
  const names = new Set([...Object.keys(defaults), ...Object.keys(isRecord(configured) ? configured : {})]);
  for (const name of names) {
    const entry = get(configured, name);
    const exposed = get(entry, "expose", "default") ?? defaults[name]?.expose ?? false;
    const port = get(entry, "exposedPort") ?? defaults[name]?.exposedPort;
    if (exposed !== true || typeof port !== "number") continue;
    ports.set(port, name);
    if (
      get(entry, "http", "redirections", "entryPoint", "to") !== undefined ||
      get(entry, "redirectTo") !== undefined
    )
      redirects.add(port);
  }
  return { ports, redirects, from: "the Traefik chart K3s bundles (HelmChartConfig kube-system/traefik)" };
}

function isRecord(value: Json | undefined): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function services(resources: readonly Resource[]): Map<string, ServicePorts> {
  const out = new Map<string, ServicePorts>();
  for (const resource of resources) {
    if (!is(resource, "Service", "")) continue;
    const ports = new Map<number, string>();
    for (const port of list(get(resource.object, "spec", "ports"))) {
      const number = get(port, "port");
      if (typeof number === "number") ports.set(number, str(get(port, "name")) ?? String(number));
    }
    out.set(`${namespaceOf(resource.object) ?? "default"}/${nameOf(resource.object)}`, {
      ports,
      redirects: new Set(),
      from: resource.origin?.file ?? resource.build ?? "kubernetes/",
    });
  }
  const traefik = bundledTraefik(resources);
  if (traefik && !out.has("kube-system/traefik")) out.set("kube-system/traefik", traefik);
  return out;
}

/** `https://name.namespace.svc[.cluster.local][:port]` -> the Service and port, or why it is not one. */
function serviceOf(origin: string): { key: string; port: number; scheme: string } | string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return "it is not a URL";
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "http" && scheme !== "https")
    return `cloudflared proxies ${scheme}:// as a TCP service, not to a Gateway`;
  const labels = url.hostname.split(".");
  const rest = labels.slice(2).join(".");
  if (labels.length < 3 || (rest !== "svc" && rest !== "svc.cluster.local"))
    return "it is not a Service name (<name>.<namespace>.svc.cluster.local)";
  const port = url.port ? Number(url.port) : scheme === "https" ? 443 : 80;
  return { key: `${labels[1]}/${labels[0]}`, port, scheme };
}

export const tunnelOriginService: Rule = {
  id: "tunnel-origin-service",
  title: "the Cloudflare Tunnel's ingress rule points at a Service and port that exist",
  reason:
    "cloudflared answers 502 for every request whose origin it cannot reach, and only once traffic flows; " +
    "the origin is an in-cluster Service (Cloudflare docs, tunnel origin parameters)",
  check(tree) {
    const tofu = readTofuVars(tree.root);
    const origin = tofu?.vars.tunnel?.origin_service;
    if (!tofu || typeof origin !== "string") return [];
    const finding = (message: string, fix: string): Finding[] => [
      {
        rule: this.id,
        severity: "error",
        message,
        fix,
        file: TOFU_VARS,
        line: tofu.line(["tunnel", "origin_service"]),
      },
    ];
    const target = serviceOf(origin);
    if (typeof target === "string") {
      return finding(
        `the tunnel's origin ${origin} is not checked: ${target}`,
        "point the tunnel at an in-cluster Service, e.g. https://traefik.kube-system.svc.cluster.local:443",
      );
    }
    const service = services(tree.resources).get(target.key);
    if (!service) {
      return finding(
        `the tunnel's origin ${origin} names the Service ${target.key}, which neither kubernetes/ nor K3s's bundled Traefik defines`,
        "point the tunnel at Traefik's Service (https://traefik.kube-system.svc.cluster.local:443) or add the Service",
      );
    }
    const entrypoint = service.ports.get(target.port);
    if (entrypoint === undefined) {
      return finding(
        `the tunnel's origin ${origin}: the Service ${target.key} has no port ${target.port} (it has ${[...service.ports.keys()].join(", ") || "none"}, from ${service.from})`,
        "use one of the Service's ports (Traefik's HTTPS port is 443 unless ports.websecure.exposedPort says otherwise)",
      );
    }
    if (target.scheme === "http" && service.redirects.has(target.port)) {
      return finding(
        `the tunnel's origin ${origin} is Traefik's ${entrypoint} entrypoint, which redirects to HTTPS: a request that reached Cloudflare over HTTPS would be redirected forever`,
        "point the tunnel at Traefik's HTTPS port: https://traefik.kube-system.svc.cluster.local:443",
      );
    }
    return [];
  },
};

// ---- route-hostname-served ----------------------------------------------------------------------

/** external-dns's domain filter (endpoint/domain_filter.go): a filter and what it excludes. */
function externalDnsMatches(filters: readonly string[], name: string, empty: boolean): boolean {
  if (filters.length === 0) return empty;
  const host = name.toLowerCase().replace(/\.$/, "");
  return filters.some((raw) => {
    const filter = raw.trim().toLowerCase().replace(/\.$/, "");
    if (!filter) return false;
    if (filter.startsWith(".")) return host.endsWith(filter);
    if (host.split(".").length === filter.split(".").length) return host === filter;
    return host.endsWith(`.${filter}`);
  });
}

/** What external-dns publishes: the names its domain filters include and its exclusions leave. */
function externalDnsScopes(resources: readonly Resource[]): { filters: string[]; excludes: string[] }[] {
  return helmSources(resources)
    .filter((s) => s.chart === "external-dns" && is(s.resource, "Application"))
    .map((s) => ({
      filters: list(get(s.values, "domainFilters")).map(String),
      excludes: list(get(s.values, "excludeDomains")).map(String),
    }));
}

export const routeHostnameServed: Rule = {
  id: "route-hostname-served",
  title: "every HTTPRoute host name is served by the Cloudflare Tunnel or by a public record",
  reason:
    "a host name neither the tunnel serves nor external-dns publishes has no DNS record: the route is " +
    "unreachable although every object is valid (external-dns docs, domain filters; Cloudflare Tunnel docs)",
  check(tree) {
    const tofu = readTofuVars(tree.root);
    if (!tofu) return [];
    const mode = typeof tofu.vars.ingress_mode === "string" ? tofu.vars.ingress_mode : "public";
    const patterns = tunnelHostnames(tofu.vars);
    const scopes = mode === "tunnel" ? [] : externalDnsScopes(tree.resources);
    // A name outside the cluster's domain is hostname-domain's finding already: one finding per name.
    const domain = tree.house ? tree.cluster?.domain : undefined;
    const reportedElsewhere = (host: string) =>
      domain !== undefined && concrete(host) && !inside(host, domain);
    const findings: Finding[] = [];
    for (const resource of tree.resources) {
      if (!is(resource, "HTTPRoute", "gateway.networking.k8s.io")) continue;
      list(get(resource.object, "spec", "hostnames")).forEach((value, i) => {
        const host = str(value)?.toLowerCase();
        if (!host || coveringPattern(patterns, host) || reportedElsewhere(host)) return;
        const published = scopes.some(
          (s) => externalDnsMatches(s.filters, host, true) && !externalDnsMatches(s.excludes, host, false),
        );
        if (published) return;
        const tunnel =
          patterns.length > 0 ? `the Cloudflare Tunnel (${patterns.join(", ")})` : "a Cloudflare Tunnel";
        const publicly =
          mode === "tunnel"
            ? "a public record (ingress.mode is tunnel: nothing is published)"
            : scopes.length === 0
              ? "a public record (no external-dns in the tree)"
              : `a public record (external-dns manages ${scopes.flatMap((s) => s.filters).join(", ") || "every name"})`;
        findings.push(
          at(resource, ["spec", "hostnames", i], {
            rule: this.id,
            message: `host name ${host} is served by neither ${tunnel} nor ${publicly}`,
            fix:
              mode === "public"
                ? "use a name under the cluster domain (external-dns publishes those), or serve it through the tunnel (ingress.mode both)"
                : "add it to ingress.tunnel.hostnames in cluster.yaml and run `infra configure`, or use a name the tunnel serves",
          }),
        );
      });
    }
    return findings;
  },
};

// ---- proxied-record-ttl -------------------------------------------------------------------------

const PROXIED = "external-dns.kubernetes.io/cloudflare-proxied";
const TTL = "external-dns.kubernetes.io/ttl";

/** external-dns's TTL annotation in seconds (a number, or a Go duration such as 5m). */
function ttlSeconds(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  const parts = [...text.matchAll(/(\d+)(h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return parts.reduce((total, p) => total + Number(p[1]) * (units[p[2] ?? "s"] ?? 1), 0);
}

/** Whether external-dns proxies every record it writes (`--cloudflare-proxied`). */
function proxiedByDefault(resources: readonly Resource[]): boolean {
  return helmSources(resources).some(
    (s) =>
      s.chart === "external-dns" &&
      list(get(s.values, "extraArgs")).some(
        (a) => a === "--cloudflare-proxied" || a === "--cloudflare-proxied=true",
      ),
  );
}

export const proxiedRecordTtl: Rule = {
  id: "proxied-record-ttl",
  title: "a proxied Cloudflare record has the automatic TTL (1)",
  reason:
    "Cloudflare keeps proxied records at the automatic TTL whatever is asked: OpenTofu plans the difference " +
    "again on every run and external-dns updates the record on every sync (Cloudflare API docs, DNS records: ttl)",
  check(tree) {
    const findings: Finding[] = [];
    const tofu = readTofuVars(tree.root);
    list(tofu?.vars.dns_records as Json | undefined).forEach((record, i) => {
      const ttl = get(record, "ttl");
      if (get(record, "proxied") !== true || ttl === 1 || !tofu) return;
      findings.push({
        rule: this.id,
        severity: "error",
        message: `the proxied record ${String(get(record, "name"))} (${String(get(record, "type"))}) has ttl ${String(ttl)}`,
        fix: "set ttl: 1 on the record in cluster.yaml's dns.records and run `infra configure`",
        file: TOFU_VARS,
        line: tofu.line(["dns_records", i, "ttl"]),
      });
    });
    const globallyProxied = proxiedByDefault(tree.resources);
    for (const resource of tree.resources) {
      const annotations = get(resource.object, "metadata", "annotations");
      const ttl = str(get(annotations, TTL));
      if (ttl === undefined) continue;
      const proxied = str(get(annotations, PROXIED));
      if (!(proxied === "true" || (proxied === undefined && globallyProxied))) continue;
      const seconds = ttlSeconds(ttl);
      if (seconds === 1) continue;
      findings.push(
        at(resource, ["metadata", "annotations", TTL], {
          rule: this.id,
          message: `${resource.object.kind} ${nameOf(resource.object)} asks for a ${ttl} TTL on a proxied record`,
          fix: `remove the ${TTL} annotation (proxied records use the automatic TTL), or set ${PROXIED}: "false"`,
        }),
      );
    }
    return findings;
  },
};

/** The rules of this file, registered together in rules/index.ts. */
export const tunnelRules: readonly Rule[] = [tunnelOriginService, routeHostnameServed, proxiedRecordTtl];
