/**
 * Cross-field rules of cluster.yaml that a schema cannot express: unique names and addresses,
 * server counts, network overlaps, ingress, zone membership. Each finding has a stable code,
 * a field path and a hint; warnings do not block.
 */

import { isIPv6 } from "node:net";
import { apiHostname, ingressHostname, relativeName, tunnelHostnames, zoneName } from "./derived.js";
import { ACME_FORBIDDEN_DOMAINS, checkEmail } from "./email.js";
import { depthBelowZone, inZone, parseHostnamePattern } from "./hostnames.js";
import { k3sSupport, parseK3sVersion } from "./k3s-version.js";
import { DOMAIN, parseTaint } from "./names.js";
import {
  type Cidr,
  cidrContains,
  cidrsOverlap,
  classifyPublic,
  parseCidr,
  parseIPv4,
  TAILSCALE_RANGE,
} from "./net.js";
import type { ClusterConfig } from "./schema.js";
import { checkTailnetRules } from "./tailnet-rules.js";
import { quote } from "./words.js";

export type PathSegment = string | number;

export interface Finding {
  code: string;
  severity: "error" | "warning";
  message: string;
  hint?: string;
  path: PathSegment[];
}

const NODE_CIDR_MASK = 24; // K3s default node-cidr-mask-size: one /24 of the pod network per node
/** K3s derives the cluster DNS address as the 10th address of the service network. */
const SERVICE_CIDR_MAX_PREFIX = 28;

export function checkRules(config: ClusterConfig): Finding[] {
  const findings: Finding[] = [];
  const error = (code: string, path: PathSegment[], message: string, hint: string) =>
    findings.push({ code, severity: "error", path, message, hint });
  const warn = (code: string, path: PathSegment[], message: string, hint: string) =>
    findings.push({ code, severity: "warning", path, message, hint });

  // Unique names and addresses.
  const firstIndex = (
    key: (n: ClusterConfig["nodes"][number]) => string | undefined,
    code: string,
    field: string,
    what: string,
  ) => {
    const seen = new Map<string, number>();
    config.nodes.forEach((node, index) => {
      const value = key(node);
      if (value === undefined) return;
      const first = seen.get(value);
      if (first === undefined) seen.set(value, index);
      else
        error(
          code,
          ["nodes", index, field],
          `${what} "${value}" is already used by nodes[${first}]`,
          `every node needs its own ${what}; rename or remove one of them`,
        );
    });
  };
  firstIndex((n) => n.name, "NODE_NAME_DUPLICATE", "name", "node name");
  firstIndex((n) => n.publicIPv4, "PUBLIC_IP_DUPLICATE", "publicIPv4", "public address");
  firstIndex((n) => n.tailscaleIPv4, "TAILSCALE_IP_DUPLICATE", "tailscaleIPv4", "Tailscale address");

  // Servers: at least one, odd when HA, preferably one provider.
  const servers = config.nodes
    .map((node, index) => ({ node, index }))
    .filter(({ node }) => node.role === "server");
  if (servers.length === 0) {
    error(
      "NO_SERVER",
      ["nodes"],
      "no node has role: server",
      "set `role: server` on one node (or three for high availability); servers run the control plane and etcd",
    );
  } else if (servers.length > 1 && servers.length % 2 === 0) {
    error(
      "SERVER_COUNT_EVEN",
      ["nodes", servers[servers.length - 1]?.index ?? 0, "role"],
      `${servers.length} servers: embedded etcd needs an odd number of servers when there is more than one`,
      `use ${servers.length - 1} or ${servers.length + 1} servers; an even count tolerates no more failures than one less`,
    );
  }
  const providers = [...new Set(servers.map(({ node }) => node.provider))];
  if (providers.length > 1) {
    const second = servers.find(({ node }) => node.provider !== servers[0]?.node.provider);
    warn(
      "SERVERS_ACROSS_PROVIDERS",
      ["nodes", second?.index ?? 0, "provider"],
      `servers run at ${providers.length} providers (${providers.join(", ")}): etcd is sensitive to the latency between them`,
      "keep the servers at one provider, ideally one metro; agents can be anywhere",
    );
  }

  // Ingress: the mode decides whether nodes may and must serve HTTP(S) on their public addresses.
  checkIngress(config, error, warn);

  // Public addresses from documentation ranges: fine for the example, not for a real cluster.
  config.nodes.forEach((node, index) => {
    const address = parseIPv4(node.publicIPv4);
    if (address !== undefined && classifyPublic(address).kind === "documentation") {
      warn(
        "PUBLIC_IP_DOCUMENTATION",
        ["nodes", index, "publicIPv4"],
        `${node.publicIPv4} is in a documentation range (RFC 5737); no real host has it`,
        "fine for the example; put the host's real public IPv4 here before `infra up`",
      );
    }
  });

  // Networks: pod and service CIDRs vs each other and Tailscale.
  const blocks: { block: Cidr; path: PathSegment[]; what: string }[] = [];
  const clusterCidr = parseCidr(config.k3s.clusterCidr);
  const serviceCidr = parseCidr(config.k3s.serviceCidr);
  if (typeof clusterCidr !== "string")
    blocks.push({ block: clusterCidr, path: ["k3s", "clusterCidr"], what: "pod network" });
  if (typeof serviceCidr !== "string")
    blocks.push({ block: serviceCidr, path: ["k3s", "serviceCidr"], what: "service network" });
  for (const { block, path, what } of blocks) {
    if (cidrsOverlap(block, TAILSCALE_RANGE)) {
      error(
        "CIDR_OVERLAPS_TAILSCALE",
        path,
        `the ${what} ${block.text} overlaps Tailscale's 100.64.0.0/10`,
        "pick a block outside 100.64.0.0/10, e.g. 10.42.0.0/16 (pods) and 10.43.0.0/16 (services)",
      );
    }
  }
  const [pods, services] = blocks;
  if (pods && services && pods.what !== services.what && cidrsOverlap(pods.block, services.block)) {
    error(
      "CIDR_OVERLAP",
      ["k3s", "serviceCidr"],
      `the service network ${services.block.text} overlaps the pod network ${pods.block.text}`,
      "give them disjoint blocks, e.g. 10.42.0.0/16 and 10.43.0.0/16",
    );
  }
  // A node address inside the pod or service network is routed into the cluster, not to the host.
  for (const { block, path, what } of blocks) {
    config.nodes.forEach((node, index) => {
      for (const field of ["publicIPv4", "tailscaleIPv4"] as const) {
        const text = node[field];
        const address = text === undefined ? undefined : parseIPv4(text);
        if (address !== undefined && cidrContains(block, address)) {
          error(
            "CIDR_CONTAINS_NODE",
            path,
            `the ${what} ${block.text} contains ${text}, the ${field} of nodes[${index}] (${node.name})`,
            "choose a block that holds none of the nodes' addresses, e.g. 10.42.0.0/16 (pods) and 10.43.0.0/16 (services)",
          );
        }
      }
    });
  }
  if (typeof clusterCidr !== "string") {
    if (clusterCidr.prefix > NODE_CIDR_MASK - 1) {
      error(
        "CLUSTER_CIDR_TOO_SMALL",
        ["k3s", "clusterCidr"],
        `the pod network ${clusterCidr.text} is smaller than two /${NODE_CIDR_MASK} node blocks`,
        "K3s gives every node a /24 of the pod network; use /16 (room for 256 nodes)",
      );
    } else if (2 ** (NODE_CIDR_MASK - clusterCidr.prefix) < config.nodes.length) {
      error(
        "CLUSTER_CIDR_TOO_SMALL",
        ["k3s", "clusterCidr"],
        `the pod network ${clusterCidr.text} has room for ${2 ** (NODE_CIDR_MASK - clusterCidr.prefix)} nodes, the config has ${config.nodes.length}`,
        `K3s gives every node a /24 of the pod network; ${config.nodes.length} nodes need a /${NODE_CIDR_MASK - Math.ceil(Math.log2(config.nodes.length))} or larger block`,
      );
    }
  }
  if (typeof serviceCidr !== "string" && serviceCidr.prefix > SERVICE_CIDR_MAX_PREFIX) {
    error(
      "SERVICE_CIDR_TOO_SMALL",
      ["k3s", "serviceCidr"],
      `the service network ${serviceCidr.text} has fewer than 16 addresses; K3s puts the cluster DNS on its 10th`,
      `use /${SERVICE_CIDR_MAX_PREFIX} or larger, e.g. 10.43.0.0/16`,
    );
  }
  if (typeof serviceCidr !== "string" && serviceCidr.prefix < 12) {
    error(
      "SERVICE_CIDR_TOO_LARGE",
      ["k3s", "serviceCidr"],
      `the service network ${serviceCidr.text} is larger than /12, which Kubernetes refuses`,
      "use /12 to /24, e.g. 10.43.0.0/16",
    );
  }

  // K3s: a patch newer than the table knows is allowed with a warning (it may be brand new).
  const version = parseK3sVersion(config.k3s.version);
  const support = version ? k3sSupport(version) : undefined;
  if (support?.verdict === "newer-than-known") {
    warn(
      "K3S_VERSION_NEWER_THAN_KNOWN",
      ["k3s", "version"],
      `K3s ${config.k3s.version} is newer than the newest release infra knows in its line (${support.newest})`,
      "fine if K3s has released it; if not, the install fails: check K3s's release list, or pin a known release",
    );
  }

  // Taints as the kubelet applies them (K3s node-taint): one per key and effect.
  config.nodes.forEach((node, index) => {
    const seen = new Map<string, number>();
    node.taints.forEach((text, taintIndex) => {
      const taint = parseTaint(text);
      if (typeof taint === "string") return;
      const key = `${taint.key}:${taint.effect}`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, taintIndex);
      else
        error(
          "TAINT_DUPLICATE",
          ["nodes", index, "taints", taintIndex],
          `the taint ${taint.key}:${taint.effect} is already in taints[${first}]`,
          "the kubelet refuses two taints with the same key and effect; keep one",
        );
    });
  });

  // Let's Encrypt refuses contact addresses at the RFC 2606 example domains.
  const email = checkEmail(config.acme.email);
  if (email.ok && ACME_FORBIDDEN_DOMAINS.includes(email.domain)) {
    warn(
      "EMAIL_EXAMPLE_DOMAIN",
      ["acme", "email"],
      `Let's Encrypt refuses contact addresses at ${email.domain}`,
      "fine for the example; put an address you read before `infra up` issues certificates",
    );
  }

  // Names derived from the domain must stay DNS names (k8s-api.<domain>, *.<domain>).
  if (!DOMAIN.test(`k8s-api.${config.domain}`)) {
    error(
      "DOMAIN_INVALID",
      ["domain"],
      `k8s-api.${config.domain}, the API's name under this domain, is longer than 253 characters`,
      "use a shorter domain",
    );
  }

  // The domain must be in the Cloudflare zone.
  const zone = config.cloudflare.zone;
  if (zone && config.domain !== zone && !config.domain.endsWith(`.${zone}`)) {
    error(
      "DOMAIN_NOT_IN_ZONE",
      ["cloudflare", "zone"],
      `the domain ${config.domain} is not inside the zone ${zone}`,
      `set cloudflare.zone to the zone that holds ${config.domain} (or leave it out when they are equal)`,
    );
  }

  // Extra DNS records must not collide with the ones derived from the nodes.
  const reserved = [relativeName(config, "k8s-api"), relativeName(config, "ingress")];
  config.dns.records.forEach((record, index) => {
    if (reserved.includes(record.name)) {
      error(
        "DNS_RECORD_RESERVED",
        ["dns", "records", index, "name"],
        `"${record.name}" is managed from the nodes (k8s-api: servers' Tailscale IPs, ingress: ingress nodes)`,
        "choose another name; these two records follow the nodes automatically",
      );
    }
  });

  // Extra DNS records: what Cloudflare and external-dns would refuse, caught here with a position.
  const seenRecords = new Map<string, number>();
  config.dns.records.forEach((record, index) => {
    const at = (field: string): PathSegment[] => ["dns", "records", index, field];
    if (/^(a|aaaa|cname|txt|mx|ns|srv|caa)-/.test(record.name)) {
      error(
        "DNS_RECORD_INVALID",
        at("name"),
        `"${record.name}" looks like an external-dns ownership record (prefix ${record.name.split("-")[0]}-)`,
        "choose a name that does not start with a-, aaaa-, cname-, txt-, mx-, ns-, srv- or caa-",
      );
    }
    if (record.proxied && record.ttl !== 1) {
      error(
        "DNS_RECORD_INVALID",
        at("ttl"),
        "a proxied record has Cloudflare's automatic TTL",
        "set ttl: 1 for proxied records",
      );
    }
    if (record.proxied && record.type === "TXT") {
      error("DNS_RECORD_INVALID", at("proxied"), "a TXT record cannot be proxied", "set proxied: false");
    }
    if (record.type === "A" && parseIPv4(record.content) === undefined) {
      error(
        "DNS_RECORD_INVALID",
        at("content"),
        `${quote(record.content)} is not an IPv4 address`,
        "an A record points at an IPv4 address",
      );
    }
    if (record.type === "AAAA" && !isIPv6(record.content)) {
      error(
        "DNS_RECORD_INVALID",
        at("content"),
        `${quote(record.content)} is not an IPv6 address`,
        "an AAAA record points at an IPv6 address",
      );
    }
    if (record.type === "CNAME" && !DOMAIN.test(record.content.replace(/\.$/, ""))) {
      error(
        "DNS_RECORD_INVALID",
        at("content"),
        `${quote(record.content)} is not a host name`,
        "a CNAME points at a host name such as example.pages.dev",
      );
    }
    const key = `${record.name}/${record.type}/${record.content}`;
    const first = seenRecords.get(key);
    if (first !== undefined) {
      error(
        "DNS_RECORD_DUPLICATE",
        at("name"),
        `the same record as dns.records[${first}]`,
        "remove one of them",
      );
    } else seenRecords.set(key, index);
    if (
      record.type === "CNAME" &&
      config.dns.records.some((other, i) => i !== index && other.name === record.name)
    ) {
      error(
        "DNS_RECORD_INVALID",
        at("type"),
        `"${record.name}" has a CNAME and other records`,
        "a CNAME must be the only record of its name",
      );
    }
  });

  findings.push(...checkTailnetRules(config));
  return findings;
}

type Report = (code: string, path: PathSegment[], message: string, hint: string) => void;

/**
 * `ingress.mode` against the nodes, and the tunnel's host names against the zone, the cluster
 * domain, the names OpenTofu publishes and each other.
 */
function checkIngress(config: ClusterConfig, error: Report, warn: Report): void {
  const mode = config.ingress.mode;
  const ingressNodes = config.nodes
    .map((node, index) => ({ node, index }))
    .filter(({ node }) => node.ingress);
  if (mode === "public" && ingressNodes.length === 0) {
    error(
      "NO_INGRESS_NODE",
      ["nodes"],
      "no node has ingress: true",
      "set `ingress: true` on the node(s) whose public IP should serve HTTP(S); DNS points the ingress record at them (or serve through a Cloudflare Tunnel: ingress.mode: tunnel)",
    );
  }
  if (mode === "both" && ingressNodes.length === 0) {
    error(
      "NO_INGRESS_NODE",
      ["ingress", "mode"],
      "ingress.mode is both, but no node has ingress: true to serve the hostnames the tunnel does not",
      "set `ingress: true` on the node(s) whose public IP should serve HTTP(S), or use ingress.mode: tunnel",
    );
  }
  if (mode === "tunnel") {
    for (const { node, index } of ingressNodes) {
      error(
        "INGRESS_NODE_IN_TUNNEL_MODE",
        ["nodes", index, "ingress"],
        `nodes[${index}] (${node.name}) has ingress: true, but ingress.mode is tunnel: no node serves HTTP(S) on its public address`,
        "set `ingress: false` (80/443 are closed on every host in tunnel mode), or use ingress.mode: both to keep public ingress on it",
      );
    }
  }
  const tunnel = config.ingress.tunnel;
  if (mode === "public" && (tunnel.name !== undefined || tunnel.hostnames !== undefined)) {
    warn(
      "TUNNEL_UNUSED",
      ["ingress", "tunnel"],
      "ingress.tunnel is set, but ingress.mode is public: no tunnel is created",
      "set ingress.mode to tunnel or both to use it (keeping it while you switch back is fine)",
    );
  }

  const zone = zoneName(config);
  const written = tunnel.hostnames !== undefined;
  // The default host names follow the domain: checked only when a tunnel uses them, and not when
  // the domain itself is outside the zone (DOMAIN_NOT_IN_ZONE says so already).
  if (!written && (mode === "public" || !inZone(config.domain, zone))) return;
  const patterns = tunnelHostnames(config);
  const at = (index: number): PathSegment[] =>
    written ? ["ingress", "tunnel", "hostnames", index] : ["domain"];
  const reserved = new Map([
    [apiHostname(config), "the Kubernetes API (servers' Tailscale addresses)"],
    [ingressHostname(config), "the ingress nodes' public addresses"],
  ]);
  const records = new Map(
    config.dns.records.map((record, index) => [record.name === "@" ? zone : `${record.name}.${zone}`, index]),
  );
  const seen = new Map<string, number>();
  patterns.forEach((pattern, index) => {
    const parsed = parseHostnamePattern(pattern);
    if (!parsed) return; // the schema has reported it
    const first = seen.get(pattern);
    if (first !== undefined) {
      error(
        "TUNNEL_HOSTNAME_DUPLICATE",
        at(index),
        `${pattern} is already ingress.tunnel.hostnames[${first}]`,
        "list each host name once",
      );
      return;
    }
    seen.set(pattern, index);
    if (!inZone(parsed.base, zone)) {
      error(
        "TUNNEL_HOSTNAME_OUTSIDE_ZONE",
        at(index),
        `${pattern} is not in the zone ${zone}`,
        `the tunnel's records are created in ${zone}: use a name in it (or change cloudflare.zone)`,
      );
      return;
    }
    if (mode !== "public") {
      const purpose = parsed.wildcard ? undefined : reserved.get(parsed.base);
      if (purpose) {
        error(
          "TUNNEL_HOSTNAME_RESERVED",
          at(index),
          `${pattern} is the record OpenTofu keeps for ${purpose}`,
          "the tunnel cannot serve it: choose another host name",
        );
      }
      const record = parsed.wildcard ? undefined : records.get(parsed.base);
      if (record !== undefined) {
        error(
          "TUNNEL_HOSTNAME_CLAIMED",
          at(index),
          `${pattern} is also dns.records[${record}] ("${config.dns.records[record]?.name}"): a name is served by the tunnel or by a record, not both`,
          "remove the record from dns.records (the tunnel publishes a proxied CNAME for the name), or the name from ingress.tunnel.hostnames",
        );
      }
    }
    if (!inZone(parsed.base, config.domain)) {
      warn(
        "TUNNEL_HOSTNAME_OUTSIDE_DOMAIN",
        at(index),
        `${pattern} is outside the cluster domain ${config.domain}: the Gateway has no listener and the wildcard certificate no name for it`,
        `use names under ${config.domain}, or add a Gateway listener and a certificate for this one`,
      );
    }
    const depth = depthBelowZone(pattern, zone);
    if (depth > 1 && mode !== "public") {
      warn(
        "TUNNEL_HOSTNAME_EDGE_CERTIFICATE",
        at(index),
        `${pattern} is ${depth} labels below the zone ${zone}: Cloudflare's Universal SSL certificate covers only ${zone} and *.${zone}, so browsers would get a certificate error`,
        `use names one label below ${zone}, or give the zone an advanced certificate (Advanced Certificate Manager) that covers ${pattern}`,
      );
    }
  });
}
