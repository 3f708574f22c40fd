/**
 * Host name patterns of the Cloudflare Tunnel (`ingress.tunnel.hostnames`): an exact name, or
 * `*.<name>` for every name below it. One definition of what a pattern covers, shared by the
 * config rules, the plan, `infra check` and `infra tunnel handover`, so "served by the tunnel"
 * means the same everywhere.
 */
import { DOMAIN } from "./names.js";

/** What a pattern is: the name it is anchored at, and whether it covers the names below it. */
export interface HostnamePattern {
  /** The name without the wildcard label, e.g. example.com for `*.example.com`. */
  base: string;
  wildcard: boolean;
}

/** Parses `app.example.com` or `*.example.com`; undefined when it is neither. */
export function parseHostnamePattern(text: string): HostnamePattern | undefined {
  const wildcard = text.startsWith("*.");
  const base = wildcard ? text.slice(2) : text;
  return DOMAIN.test(base) ? { base, wildcard } : undefined;
}

/** Why a pattern is not one, or undefined: `*.` only as the whole first label, a lowercase DNS name after it. */
export function hostnamePatternProblem(text: string): string | undefined {
  if (text === "*" || text === "*.") return "a lone * would cover every name of every zone";
  if (text.endsWith(".")) return "write it without the trailing dot";
  const star = text.indexOf("*");
  if (star > 0 || (star === 0 && !text.startsWith("*."))) {
    return "a wildcard must be the whole first label, as in *.example.com";
  }
  if (text.indexOf("*", star + 1) > 0) return "it has more than one wildcard";
  if (text !== text.toLowerCase()) return "DNS names here are lowercase";
  return parseHostnamePattern(text) ? undefined : "it is not a DNS name";
}

/**
 * Whether a pattern covers a host name. `*.example.com` covers every name that ends in
 * `.example.com` (cloudflared matches its ingress rules by that suffix, and a DNS wildcard answers
 * for any name below it that has no record of its own), but not example.com itself.
 */
export function patternCovers(pattern: string, host: string): boolean {
  const parsed = parseHostnamePattern(pattern);
  const name = host.toLowerCase().replace(/\.$/, "");
  if (!parsed) return false;
  return parsed.wildcard ? name.endsWith(`.${parsed.base}`) : name === parsed.base;
}

/** The first pattern that covers the host, if any. */
export function coveringPattern(patterns: readonly string[], host: string): string | undefined {
  return patterns.find((pattern) => patternCovers(pattern, host));
}

/** Whether `name` is `zone` or below it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * The external-dns `--exclude-domains` entry for a pattern. external-dns matches an exclusion
 * without a leading dot as the name and everything below it, and one with a leading dot as the
 * names below it only (endpoint/domain_filter.go), so `*.example.com` becomes `.example.com`.
 */
export function externalDnsExclusion(pattern: string): string {
  const parsed = parseHostnamePattern(pattern);
  if (!parsed) return pattern;
  return parsed.wildcard ? `.${parsed.base}` : parsed.base;
}

/**
 * How many labels a name has below the zone apex: 0 for the apex, 1 for www.example.com. A
 * wildcard counts as the label it stands for. Cloudflare's Universal SSL certificate covers the
 * apex and one label below it only.
 */
export function depthBelowZone(pattern: string, zone: string): number {
  const parsed = parseHostnamePattern(pattern);
  if (!parsed || !inZone(parsed.base, zone)) return 0;
  const below = parsed.base === zone ? 0 : parsed.base.slice(0, -(zone.length + 1)).split(".").length;
  return below + (parsed.wildcard ? 1 : 0);
}
