/**
 * `ingress.mode` and the Cloudflare Tunnel's settings in cluster.yaml: one fixture per mode, one per
 * invalid combination (exact code, message, hint and position), the defaults, and the host name
 * patterns every consumer shares.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tunnelEnabled, tunnelHostnames, tunnelName } from "../../../src/config/derived.js";
import {
  coveringPattern,
  depthBelowZone,
  externalDnsExclusion,
  hostnamePatternProblem,
  patternCovers,
} from "../../../src/config/hostnames.js";
import { validateConfigText } from "../../../src/config/load.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import type { InvalidFixture } from "../../helpers/config-fixtures.js";

const fixtures = join(PACKAGE_ROOT, "test", "fixtures", "config", "ingress");
const read = (path: string) => readFileSync(join(fixtures, path), "utf8");
const summary = (problems: { severity: string; code: string; location: { path: string } }[]) =>
  problems.map((p) => `${p.severity} ${p.code} ${p.location.path}`);

const INVALID: InvalidFixture[] = [
  {
    file: "both-no-ingress-node",
    code: "NO_INGRESS_NODE",
    path: "ingress.mode",
    at: [10, 9],
    message: "ingress.mode is both, but no node has ingress: true to serve the hostnames the tunnel does not",
    hint: "set `ingress: true` on the node(s) whose public IP should serve HTTP(S), or use ingress.mode: tunnel",
  },
  {
    file: "hostname-claimed",
    code: "TUNNEL_HOSTNAME_CLAIMED",
    path: "ingress.tunnel.hostnames[0]",
    at: [13, 9],
    message:
      'status.example.net is also dns.records[0] ("status"): a name is served by the tunnel or by a record, not both',
    hint: "remove the record from dns.records (the tunnel publishes a proxied CNAME for the name), or the name from ingress.tunnel.hostnames",
  },
  {
    file: "hostname-duplicate",
    code: "TUNNEL_HOSTNAME_DUPLICATE",
    path: "ingress.tunnel.hostnames[1]",
    at: [14, 9],
    message: "*.example.net is already ingress.tunnel.hostnames[0]",
    hint: "list each host name once",
  },
  {
    file: "hostname-outside-zone",
    code: "TUNNEL_HOSTNAME_OUTSIDE_ZONE",
    path: "ingress.tunnel.hostnames[1]",
    at: [14, 9],
    message: "shop.example.com is not in the zone example.net",
    hint: "the tunnel's records are created in example.net: use a name in it (or change cloudflare.zone)",
  },
  {
    file: "hostname-reserved",
    code: "TUNNEL_HOSTNAME_RESERVED",
    path: "ingress.tunnel.hostnames[0]",
    at: [13, 9],
    message:
      "k8s-api.example.net is the record OpenTofu keeps for the Kubernetes API (servers' Tailscale addresses)",
    hint: "the tunnel cannot serve it: choose another host name",
  },
  {
    file: "hostname-wildcard",
    code: "TUNNEL_HOSTNAME_INVALID",
    path: "ingress.tunnel.hostnames[0]",
    at: [13, 9],
    message:
      '"app*.example.net" is not a host name or *.wildcard: a wildcard must be the whole first label, as in *.example.com',
    hint: "write a lowercase name in the zone, e.g. app.example.com, or *.example.com for every name below example.com",
  },
  {
    file: "hostnames-empty",
    code: "CONFIG_OUT_OF_RANGE",
    path: "ingress.tunnel.hostnames",
    at: [12, 16],
    message: '"hostnames" is empty',
    hint: "give it a value or leave the field out",
  },
  {
    file: "mode-typo",
    code: "CONFIG_INVALID_OPTION",
    path: "ingress.mode",
    at: [10, 9],
    message: '"tunel" is not one of public, tunnel, both',
    hint: 'did you mean "tunnel"?',
  },
  {
    file: "tunnel-ingress-node",
    code: "INGRESS_NODE_IN_TUNNEL_MODE",
    path: "nodes[0].ingress",
    at: [17, 14],
    message:
      "nodes[0] (home-1) has ingress: true, but ingress.mode is tunnel: no node serves HTTP(S) on its public address",
    hint: "set `ingress: false` (80/443 are closed on every host in tunnel mode), or use ingress.mode: both to keep public ingress on it",
  },
  {
    file: "tunnel-name-invalid",
    code: "TUNNEL_NAME_INVALID",
    path: "ingress.tunnel.name",
    at: [12, 11],
    message: '"my tunnel" is not a valid tunnel name',
    hint: "use letters, digits, '.', '_' and '-' (at most 100 characters), e.g. infra-k3s-prod",
  },
];

describe("ingress modes: invalid combinations", () => {
  it("lists every invalid fixture here", () => {
    const files = readdirSync(join(fixtures, "invalid")).map((f) => f.replace(/\.yaml$/, ""));
    expect(files.sort()).toEqual(INVALID.map((c) => c.file).sort());
  });

  it.each(INVALID)("$file -> $code at $path", ({ file, code, path, at, message, hint }) => {
    const { problems } = validateConfigText(read(`invalid/${file}.yaml`), `${file}.yaml`);
    const errors = problems.filter((p) => p.severity === "error");
    expect(errors, JSON.stringify(problems, null, 2)).toEqual([
      {
        code,
        severity: "error",
        message,
        hint,
        location: { file: `${file}.yaml`, line: at[0], column: at[1], path },
      },
    ]);
  });
});

describe("ingress modes: valid configs", () => {
  it("public is the default: today's behaviour, no tunnel", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "test/fixtures/config/valid/single-node.yaml"), "utf8");
    const { config } = validateConfigText(text, "single-node.yaml");
    expect(config?.ingress.mode).toBe("public");
    expect(config && tunnelEnabled(config)).toBe(false);
  });

  it("tunnel: no ingress node needed; the tunnel is named after the cluster and serves every name below the domain", () => {
    const { config, problems } = validateConfigText(read("valid/tunnel.yaml"), "tunnel.yaml");
    expect(problems).toEqual([]);
    if (!config) throw new Error("no config");
    expect(config.nodes.every((n) => !n.ingress)).toBe(true);
    expect(tunnelName(config)).toBe("infra-k3s-home");
    expect(tunnelHostnames(config)).toEqual(["*.example.net"]);
  });

  it("both: explicit name and host names; a name two labels below the zone is warned about (Universal SSL)", () => {
    const { config, problems } = validateConfigText(read("valid/both.yaml"), "both.yaml");
    expect(summary(problems)).toEqual([
      "warning TUNNEL_HOSTNAME_EDGE_CERTIFICATE ingress.tunnel.hostnames[1]",
    ]);
    if (!config) throw new Error("no config");
    expect(tunnelName(config)).toBe("home-tunnel");
    expect(tunnelHostnames(config)).toEqual(["grafana.example.net", "*.internal.example.net"]);
  });

  it("the default host names of a domain below the zone are warned about at `domain`", () => {
    const text = read("valid/tunnel.yaml")
      .replace("domain: example.net", "domain: k8s.example.net")
      .replace(
        'accountId: "fedcba9876543210fedcba9876543210"',
        'accountId: "fedcba9876543210fedcba9876543210"\n  zone: example.net',
      );
    const { config, problems } = validateConfigText(text, "deep.yaml");
    expect(config).toBeDefined();
    expect(summary(problems)).toEqual(["warning TUNNEL_HOSTNAME_EDGE_CERTIFICATE domain"]);
    expect(problems[0]?.message).toMatch(/^\*\.k8s\.example\.net is 2 labels below the zone example\.net/);
  });

  it("tunnel settings in public mode are kept with a warning (switching back keeps them)", () => {
    const text = read("valid/both.yaml").replace("mode: both", "mode: public");
    const { config, problems } = validateConfigText(text, "public.yaml");
    expect(config).toBeDefined();
    expect(summary(problems)).toEqual(["warning TUNNEL_UNUSED ingress.tunnel"]);
  });

  it("a name outside the cluster domain but in the zone is a warning: the Gateway has no listener for it", () => {
    const text = read("valid/tunnel.yaml")
      .replace("domain: example.net", "domain: k8s.example.net")
      .replace(
        'accountId: "fedcba9876543210fedcba9876543210"',
        'accountId: "fedcba9876543210fedcba9876543210"\n  zone: example.net',
      )
      .replace(
        "  mode: tunnel",
        "  mode: tunnel\n  tunnel:\n    hostnames: [app.k8s.example.net, www.example.net]",
      );
    const { problems } = validateConfigText(text, "outside.yaml");
    expect(summary(problems)).toEqual([
      "warning TUNNEL_HOSTNAME_EDGE_CERTIFICATE ingress.tunnel.hostnames[0]",
      "warning TUNNEL_HOSTNAME_OUTSIDE_DOMAIN ingress.tunnel.hostnames[1]",
    ]);
  });
});

describe("host name patterns", () => {
  it.each([
    ["*.example.com", "app.example.com", true],
    ["*.example.com", "a.b.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "badexample.com", false],
    ["app.example.com", "app.example.com", true],
    ["app.example.com", "APP.example.com.", true],
    ["app.example.com", "x.app.example.com", false],
  ])("%s covers %s: %s", (pattern, host, covered) => {
    expect(patternCovers(pattern, host)).toBe(covered);
  });

  it("finds the covering pattern", () => {
    expect(coveringPattern(["a.example.com", "*.example.com"], "b.example.com")).toBe("*.example.com");
    expect(coveringPattern(["a.example.com"], "b.example.com")).toBeUndefined();
  });

  it.each([
    ["*", "a lone * would cover every name of every zone"],
    ["app.example.com.", "write it without the trailing dot"],
    ["a.*.example.com", "a wildcard must be the whole first label, as in *.example.com"],
    ["*.*.example.com", "it has more than one wildcard"],
    ["App.example.com", "DNS names here are lowercase"],
    ["app_x.example.com", "it is not a DNS name"],
    ["localhost", "it is not a DNS name"],
  ])("refuses %s: %s", (text, why) => {
    expect(hostnamePatternProblem(text)).toBe(why);
  });

  it("accepts exact names and *.wildcards", () => {
    expect(hostnamePatternProblem("*.example.com")).toBeUndefined();
    expect(hostnamePatternProblem("grafana.k8s.example.com")).toBeUndefined();
  });

  it("turns patterns into external-dns exclusions (a leading dot: only the names below)", () => {
    expect(externalDnsExclusion("*.example.com")).toBe(".example.com");
    expect(externalDnsExclusion("app.example.com")).toBe("app.example.com");
  });

  it("counts labels below the zone apex", () => {
    expect(depthBelowZone("example.com", "example.com")).toBe(0);
    expect(depthBelowZone("*.example.com", "example.com")).toBe(1);
    expect(depthBelowZone("app.example.com", "example.com")).toBe(1);
    expect(depthBelowZone("*.k8s.example.com", "example.com")).toBe(2);
  });
});
