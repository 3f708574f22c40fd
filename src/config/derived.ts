/**
 * Values derived from cluster.yaml that several consumers need (render, plan, other commands):
 * one definition each, so a name is never computed two ways.
 */
import type { ClusterConfig, IngressMode, NodeConfig } from "./schema.js";

/** The Cloudflare zone that holds the domain (cloudflare.zone, default: the domain). */
export function zoneName(config: ClusterConfig): string {
  return config.cloudflare.zone ?? config.domain;
}

/** A name under the cluster domain, relative to the zone (what Cloudflare records are named). */
export function relativeName(config: ClusterConfig, label: string): string {
  const zone = zoneName(config);
  const full = label === "@" ? config.domain : `${label}.${config.domain}`;
  if (full === zone) return "@";
  return full.endsWith(`.${zone}`) ? full.slice(0, -(zone.length + 1)) : full;
}

/** The DNS name of the Kubernetes API (points at the servers' Tailscale addresses). */
export function apiHostname(config: ClusterConfig): string {
  return `k8s-api.${config.domain}`;
}

/** The DNS name whose A records are the ingress nodes' public addresses. */
export function ingressHostname(config: ClusterConfig): string {
  return `ingress.${config.domain}`;
}

export function txtOwnerId(config: ClusterConfig): string {
  return config.dns.txtOwnerId ?? config.name;
}

/** R2's S3 endpoint host (no scheme); the EU and FedRAMP jurisdictions have their own. */
export function r2EndpointHost(config: ClusterConfig): string {
  const jurisdiction = config.backup.bucket.jurisdiction;
  const infix = jurisdiction === "default" ? "" : `.${jurisdiction}`;
  return `${config.cloudflare.accountId}${infix}.r2.cloudflarestorage.com`;
}

export function acmeIssuer(config: ClusterConfig): string {
  return config.acme.environment === "production" ? "letsencrypt-production" : "letsencrypt-staging";
}

export interface ResolvedSsh {
  user: string;
  port: number;
  privateKeyFile?: string;
}

/** The node's SSH settings: its own `ssh` over the top-level defaults. */
export function nodeSsh(config: ClusterConfig, node: NodeConfig): ResolvedSsh {
  const ssh: ResolvedSsh = {
    user: node.ssh?.user ?? config.ssh.user,
    port: node.ssh?.port ?? config.ssh.port,
  };
  const key = node.ssh?.privateKeyFile ?? config.ssh.privateKeyFile;
  if (key !== undefined) ssh.privateKeyFile = key;
  return ssh;
}

export function servers(config: ClusterConfig): NodeConfig[] {
  return config.nodes.filter((node) => node.role === "server");
}

export function agents(config: ClusterConfig): NodeConfig[] {
  return config.nodes.filter((node) => node.role === "agent");
}

// ---- Ingress: public addresses, the Cloudflare Tunnel, or both ---------------------------------

export function ingressMode(config: ClusterConfig): IngressMode {
  return config.ingress.mode;
}

/** True when a Cloudflare Tunnel serves hostnames (modes tunnel and both). */
export function tunnelEnabled(config: ClusterConfig): boolean {
  return config.ingress.mode !== "public";
}

/** True when ingress nodes serve 80/443 on their public addresses (modes public and both). */
export function publicIngressEnabled(config: ClusterConfig): boolean {
  return config.ingress.mode !== "tunnel";
}

/** The tunnel's name in the Cloudflare account (ingress.tunnel.name, default infra-k3s-<name>). */
export function tunnelName(config: ClusterConfig): string {
  return config.ingress.tunnel.name ?? `infra-k3s-${config.name}`;
}

/**
 * The host names (or *.wildcards) the tunnel serves: ingress.tunnel.hostnames, default every name
 * below the cluster domain (which is what HTTPRoutes under the domain use).
 */
export function tunnelHostnames(config: ClusterConfig): string[] {
  return config.ingress.tunnel.hostnames ?? [`*.${config.domain}`];
}

/**
 * Where cloudflared sends the tunnel's requests: Traefik's HTTPS entrypoint behind the Service K3s
 * bundles. HTTPS, not HTTP: the `web` entrypoint redirects to https, and a request that already
 * arrived over HTTPS at Cloudflare would be redirected forever.
 */
export const TUNNEL_ORIGIN_SERVICE = "https://traefik.kube-system.svc.cluster.local:443";

/**
 * Whether cloudflared verifies the origin's certificate: only a production Let's Encrypt
 * certificate is one it can verify (a staging certificate is signed by an untrusted CA).
 */
export function tunnelOriginTlsVerify(config: ClusterConfig): boolean {
  return config.acme.environment === "production";
}

/** The tags a node of the given role carries on the tailnet: the cluster's common tags and its role tag. */
export function nodeTags(config: ClusterConfig, role: "server" | "agent"): string[] {
  const roleTag = role === "server" ? config.tailscale.serverTag : config.tailscale.agentTag;
  return [...new Set([...config.tailscale.tags, roleTag])];
}
