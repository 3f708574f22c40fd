import { describe, expect, it } from "vitest";
import { K3S_DEFAULT_VERSION, k3sMinimumFor, parseK3sVersion } from "../../../src/config/k3s-version.js";
import { cidrsOverlap, classifyPublic, networkOf, parseCidr, parseIPv4 } from "../../../src/config/net.js";
import { closest, editDistance } from "../../../src/config/suggest.js";

const ip = (text: string) => {
  const value = parseIPv4(text);
  if (value === undefined) throw new Error(text);
  return value;
};
const cidr = (text: string) => {
  const value = parseCidr(text);
  if (typeof value === "string") throw new Error(text);
  return value;
};

describe("IPv4", () => {
  it.each(["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "", "1..2.3"])("rejects %j", (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });

  it("parses addresses to 32-bit numbers", () => {
    expect(parseIPv4("0.0.0.0")).toBe(0);
    expect(parseIPv4("255.255.255.255")).toBe(2 ** 32 - 1);
    expect(parseIPv4("10.0.0.1")).toBe(167772161);
  });

  it.each([
    ["8.8.8.8", "public"],
    ["5.75.1.1", "public"],
    ["203.0.113.10", "documentation"],
    ["198.51.100.1", "documentation"],
    ["192.0.2.1", "documentation"],
    ["10.1.2.3", "non-public"],
    ["172.16.0.1", "non-public"],
    ["172.31.255.255", "non-public"],
    ["172.32.0.1", "public"],
    ["192.168.0.1", "non-public"],
    ["100.64.0.1", "non-public"],
    ["100.127.255.255", "non-public"],
    ["100.128.0.1", "public"],
    ["127.0.0.1", "non-public"],
    ["169.254.169.254", "non-public"],
    ["0.1.2.3", "non-public"],
    ["224.0.0.1", "non-public"],
    ["255.255.255.255", "non-public"],
    ["198.18.0.1", "non-public"],
  ])("classifies %s as %s", (address, kind) => {
    expect(classifyPublic(ip(address)).kind).toBe(kind);
  });
});

describe("CIDR", () => {
  it("parses blocks and detects host bits", () => {
    expect(cidr("10.42.0.0/16")).toEqual({ base: ip("10.42.0.0"), prefix: 16, text: "10.42.0.0/16" });
    expect(parseCidr("10.42.0.1/16")).toBe("host-bits");
    expect(parseCidr("10.42.0.0/33")).toBe("syntax");
    expect(parseCidr("10.42.0.0")).toBe("syntax");
    expect(networkOf("10.42.7.9/16")).toBe("10.42.0.0/16");
  });

  it("detects overlaps in both directions and adjacency as disjoint", () => {
    expect(cidrsOverlap(cidr("10.42.0.0/16"), cidr("10.42.128.0/17"))).toBe(true);
    expect(cidrsOverlap(cidr("10.42.128.0/17"), cidr("10.42.0.0/16"))).toBe(true);
    expect(cidrsOverlap(cidr("10.42.0.0/16"), cidr("10.43.0.0/16"))).toBe(false);
    expect(cidrsOverlap(cidr("0.0.0.0/0"), cidr("100.64.0.0/10"))).toBe(true);
  });
});

describe("K3s versions", () => {
  it.each([
    ["v1.36.2+k3s1", undefined],
    ["v1.36.1+k3s1", "v1.36.2+k3s1"],
    ["v1.35.6+k3s1", undefined],
    ["v1.35.5+k3s2", "v1.35.6+k3s1"],
    ["v1.34.9+k3s1", undefined],
    ["v1.34.8+k3s1", "v1.34.9+k3s1"],
    ["v1.33.13+k3s1", undefined],
    ["v1.33.12+k3s1", "v1.33.13+k3s1"],
    ["v1.32.20+k3s1", "v1.33.13+k3s1"],
    ["v1.37.0+k3s1", undefined],
    ["v2.0.0+k3s1", undefined],
  ])("%s needs %s", (text, minimum) => {
    const version = parseK3sVersion(text);
    expect(version).toBeDefined();
    if (version) expect(k3sMinimumFor(version)).toBe(minimum);
  });

  it("rejects channels and release candidates, and pins a fixed default", () => {
    expect(parseK3sVersion("stable")).toBeUndefined();
    expect(parseK3sVersion("v1.37.1-rc1+k3s1")).toBeUndefined();
    expect(parseK3sVersion("1.36.3+k3s1")).toBeUndefined();
    const pinned = parseK3sVersion(K3S_DEFAULT_VERSION);
    expect(pinned && k3sMinimumFor(pinned)).toBeUndefined();
  });
});

describe("suggestions", () => {
  it("counts a transposition of two neighbours as one edit (Damerau)", () => {
    expect(editDistance("domian", "domain")).toBe(1);
    expect(editDistance("pubilcIPv4", "publicIPv4")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
    expect(editDistance("nodes", "node")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests the closest key for edits, insertions, deletions and transpositions", () => {
    const keys = ["name", "domain", "nodes", "publicIPv4", "tailscaleIPv4"];
    expect(closest("domian", keys)).toBe("domain"); // transposition
    expect(closest("domainn", keys)).toBe("domain"); // insertion
    expect(closest("doman", keys)).toBe("domain"); // deletion
    expect(closest("dimain", keys)).toBe("domain"); // substitution
    expect(closest("publicIP", keys)).toBe("publicIPv4");
    expect(closest("nmae", keys)).toBe("name");
    expect(closest("zzzz", keys)).toBeUndefined();
  });
});
