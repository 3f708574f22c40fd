/**
 * IPv4 addresses and CIDR blocks as 32-bit numbers: parsing, containment, overlap and the
 * special-purpose ranges (RFC 6890) that a node's public address must not fall into.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  /** The block as written, e.g. `10.42.0.0/16`. */
  text: string;
}

const OCTET = /^(0|[1-9]\d{0,2})$/;

/** Parses a dotted-quad IPv4 address (no leading zeros); undefined when malformed. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

export type CidrError = "syntax" | "host-bits";

/** Parses `a.b.c.d/n`; reports whether it is malformed or has host bits set. */
export function parseCidr(text: string): Cidr | CidrError {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return "syntax";
  const address = parseIPv4(match[1] ?? "");
  const prefix = Number(match[2]);
  if (address === undefined || prefix > 32) return "syntax";
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return "host-bits";
  return { base: address, prefix, text };
}

/** `10.42.1.7/16` -> `10.42.0.0/16`, for hints. */
export function networkOf(text: string): string | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const address = parseIPv4(match?.[1] ?? "");
  const prefix = Number(match?.[2]);
  if (address === undefined || !(prefix <= 32)) return undefined;
  const size = 2 ** (32 - prefix);
  return `${formatIPv4(address - (address % size))}/${prefix}`;
}

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === "string") throw new Error(`bad built-in CIDR ${text}`);
  return parsed;
}

export function cidrSize(block: Cidr): number {
  return 2 ** (32 - block.prefix);
}

export function cidrContains(block: Cidr, address: number): boolean {
  return address >= block.base && address < block.base + cidrSize(block);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}

/** Tailscale assigns node addresses from the CGNAT range (RFC 6598). */
export const TAILSCALE_RANGE: Cidr = cidr("100.64.0.0/10");

/**
 * Addresses inside 100.64.0.0/10 that Tailscale never assigns to a node (tailscale.com/net/tsaddr):
 * its own service address (MagicDNS, "Quad100") and the range ChromeOS uses for its VMs.
 */
export const TAILSCALE_RESERVED: readonly { block: Cidr; what: string }[] = [
  { block: cidr("100.100.100.100/32"), what: "Tailscale's own service address (MagicDNS, 100.100.100.100)" },
  {
    block: cidr("100.115.92.0/23"),
    what: "the ChromeOS VM range 100.115.92.0/23, which Tailscale never assigns",
  },
];

/** Why an address cannot be a node's Tailscale IPv4, or undefined when it can. */
export function tailscaleAddressProblem(address: number): string | undefined {
  if (!cidrContains(TAILSCALE_RANGE, address))
    return "outside 100.64.0.0/10, where Tailscale assigns addresses";
  return TAILSCALE_RESERVED.find(({ block }) => cidrContains(block, address))?.what;
}

/** Ranges that are never a host's public address. */
const NON_PUBLIC: { block: Cidr; what: string }[] = [
  { block: cidr("0.0.0.0/8"), what: '"this network" (RFC 1122)' },
  { block: cidr("10.0.0.0/8"), what: "private (RFC 1918)" },
  { block: cidr("100.64.0.0/10"), what: "shared CGNAT space (RFC 6598; Tailscale uses it)" },
  { block: cidr("127.0.0.0/8"), what: "loopback" },
  { block: cidr("169.254.0.0/16"), what: "link-local" },
  { block: cidr("172.16.0.0/12"), what: "private (RFC 1918)" },
  { block: cidr("192.0.0.0/24"), what: "IETF protocol assignments (RFC 6890)" },
  { block: cidr("192.168.0.0/16"), what: "private (RFC 1918)" },
  { block: cidr("198.18.0.0/15"), what: "benchmarking (RFC 2544)" },
  { block: cidr("224.0.0.0/4"), what: "multicast" },
  { block: cidr("240.0.0.0/4"), what: "reserved (incl. broadcast)" },
];

/** RFC 5737 documentation ranges: accepted (the example uses them) but warned about. */
const DOCUMENTATION: Cidr[] = [cidr("192.0.2.0/24"), cidr("198.51.100.0/24"), cidr("203.0.113.0/24")];

export type AddressClass =
  | { kind: "public" }
  | { kind: "documentation" }
  | { kind: "non-public"; what: string };

export function classifyPublic(address: number): AddressClass {
  for (const { block, what } of NON_PUBLIC) {
    if (cidrContains(block, address)) return { kind: "non-public", what: `${what}, ${block.text}` };
  }
  if (DOCUMENTATION.some((block) => cidrContains(block, address))) return { kind: "documentation" };
  return { kind: "public" };
}
