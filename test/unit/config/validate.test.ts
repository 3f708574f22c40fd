import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfigText, validateWithPositions } from "../../../src/config/load.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";

const fixtures = join(PACKAGE_ROOT, "test", "fixtures", "config");
const read = (path: string) => readFileSync(join(fixtures, path), "utf8");

/** Every invalid fixture: the code, field path, position and message it must produce. */
const INVALID: {
  file: string;
  code: string;
  path: string;
  at: [number, number];
  message: RegExp;
  hint?: RegExp;
}[] = [
  {
    file: "yaml-syntax",
    code: "CONFIG_YAML_SYNTAX",
    path: "",
    at: [15, 1],
    message: /YAML syntax error: All mapping items/,
  },
  {
    file: "duplicate-key",
    code: "CONFIG_YAML_SYNTAX",
    path: "",
    at: [5, 1],
    message: /Map keys must be unique/,
  },
  {
    file: "not-a-mapping",
    code: "CONFIG_NOT_A_MAPPING",
    path: "",
    at: [1, 1],
    message: /must be a YAML mapping/,
  },
  {
    file: "unknown-key-typo",
    code: "CONFIG_UNKNOWN_KEY",
    path: "domian",
    at: [4, 1],
    message: /unknown key "domian"/,
    hint: /did you mean "domain"\?/,
  },
  {
    file: "unknown-node-key",
    code: "CONFIG_UNKNOWN_KEY",
    path: "nodes[0].publicIP",
    at: [15, 5],
    message: /unknown key "publicIP"/,
    hint: /did you mean "publicIPv4"\?/,
  },
  {
    file: "missing-domain",
    code: "CONFIG_REQUIRED",
    path: "domain",
    at: [2, 1],
    message: /required field "domain" is missing/,
  },
  {
    file: "version-unsupported",
    code: "CONFIG_VERSION_UNSUPPORTED",
    path: "version",
    at: [2, 10],
    message: /unsupported config version 2/,
  },
  {
    file: "node-name-invalid",
    code: "NODE_NAME_INVALID",
    path: "nodes[0].name",
    at: [10, 11],
    message: /"Solo_1" is not a valid node name/,
  },
  {
    file: "node-name-duplicate",
    code: "NODE_NAME_DUPLICATE",
    path: "nodes[1].name",
    at: [16, 11],
    message: /"solo-1" is already used by nodes\[0\]/,
  },
  { file: "no-server", code: "NO_SERVER", path: "nodes", at: [10, 3], message: /no node has role: server/ },
  {
    file: "even-servers",
    code: "SERVER_COUNT_EVEN",
    path: "nodes[1].role",
    at: [17, 11],
    message: /2 servers: embedded etcd needs an odd number/,
  },
  {
    file: "cidr-invalid",
    code: "CIDR_INVALID",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message: /"10.42.0.0\/33" is not an IPv4 CIDR block/,
  },
  {
    file: "cidr-host-bits",
    code: "CIDR_INVALID",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message: /has host bits set/,
    hint: /use the network address: 10\.42\.0\.0\/16/,
  },
  {
    file: "cidr-overlap",
    code: "CIDR_OVERLAP",
    path: "k3s.serviceCidr",
    at: [9, 16],
    message: /10.42.128.0\/17 overlaps the pod network 10.42.0.0\/16/,
  },
  {
    file: "cidr-tailscale",
    code: "CIDR_OVERLAPS_TAILSCALE",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message: /overlaps Tailscale's 100.64.0.0\/10/,
  },
  {
    file: "cluster-cidr-too-small",
    code: "CLUSTER_CIDR_TOO_SMALL",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message: /10.42.0.0\/24 is smaller than two \/24/,
  },
  {
    file: "service-cidr-too-large",
    code: "SERVICE_CIDR_TOO_LARGE",
    path: "k3s.serviceCidr",
    at: [9, 16],
    message: /larger than \/12/,
  },
  {
    file: "public-ip-private",
    code: "PUBLIC_IP_NOT_PUBLIC",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: /192.168.1.10 is not a public address: private \(RFC 1918\)/,
  },
  {
    file: "public-ip-cgnat",
    code: "PUBLIC_IP_NOT_PUBLIC",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: /shared CGNAT space/,
  },
  {
    file: "public-ip-loopback",
    code: "PUBLIC_IP_NOT_PUBLIC",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: /127.0.0.1 is not a public address: loopback/,
  },
  {
    file: "public-ip-malformed",
    code: "IP_INVALID",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: /"203.0.113.256" is not an IPv4 address/,
  },
  {
    file: "public-ip-duplicate",
    code: "PUBLIC_IP_DUPLICATE",
    path: "nodes[1].publicIPv4",
    at: [20, 17],
    message: /"8.8.4.4" is already used by nodes\[0\]/,
  },
  {
    file: "tailscale-ip-outside",
    code: "TAILSCALE_IP_INVALID",
    path: "nodes[0].tailscaleIPv4",
    at: [15, 20],
    message: /"10.1.1.1" is not a Tailscale address/,
  },
  {
    file: "no-ingress",
    code: "NO_INGRESS_NODE",
    path: "nodes",
    at: [10, 3],
    message: /no node has ingress: true/,
  },
  {
    file: "domain-invalid",
    code: "DOMAIN_INVALID",
    path: "domain",
    at: [4, 9],
    message: /"solo_example.net" is not a valid domain name/,
  },
  {
    file: "domain-not-in-zone",
    code: "DOMAIN_NOT_IN_ZONE",
    path: "cloudflare.zone",
    at: [7, 9],
    message: /solo.example.net is not inside the zone example.com/,
  },
  {
    file: "k3s-too-old",
    code: "K3S_VERSION_TOO_OLD",
    path: "k3s.version",
    at: [8, 12],
    message: /v1.36.1\+k3s1 is older than v1.36.2\+k3s1/,
  },
  {
    file: "k3s-old-minor",
    code: "K3S_VERSION_TOO_OLD",
    path: "k3s.version",
    at: [8, 12],
    message: /oldest fixed release is v1.33.13\+k3s1/,
  },
  {
    file: "k3s-channel",
    code: "K3S_VERSION_INVALID",
    path: "k3s.version",
    at: [8, 12],
    message: /"stable" is not a K3s release version/,
  },
  {
    file: "account-id-number",
    code: "CONFIG_TYPE",
    path: "cloudflare.accountId",
    at: [6, 14],
    message: /expected a string, got a number/,
    hint: /"12345678901234567890123456789012"/,
  },
  {
    file: "role-typo",
    code: "CONFIG_INVALID_OPTION",
    path: "nodes[0].role",
    at: [11, 11],
    message: /"sever" is not one of server, agent/,
    hint: /did you mean "server"\?/,
  },
  {
    file: "provider-typo",
    code: "CONFIG_INVALID_OPTION",
    path: "nodes[0].provider",
    at: [12, 15],
    message: /"hetzer" is not one of hetzner, vultr, aws, generic/,
    hint: /did you mean "hetzner"\?/,
  },
  {
    file: "taint-invalid",
    code: "TAINT_INVALID",
    path: "nodes[0].taints[0]",
    at: [17, 9],
    message: /"dedicated=edge" is not a valid taint/,
  },
  {
    file: "label-bool",
    code: "CONFIG_TYPE",
    path: "nodes[0].labels.ready",
    at: [17, 14],
    message: /expected a string, got a boolean/,
    hint: /"true"/,
  },
  {
    file: "cron-invalid",
    code: "CRON_INVALID",
    path: "backup.velero.daily.schedule",
    at: [23, 17],
    message: /"every day" is not a cron schedule/,
  },
  {
    file: "ttl-invalid",
    code: "DURATION_INVALID",
    path: "backup.velero.daily.ttl",
    at: [23, 12],
    message: /"30d" is not a duration/,
  },
  {
    file: "ssh-port-range",
    code: "CONFIG_OUT_OF_RANGE",
    path: "ssh.port",
    at: [10, 9],
    message: /must be at most 65535/,
  },
  {
    file: "email-invalid",
    code: "EMAIL_INVALID",
    path: "acme.email",
    at: [17, 10],
    message: /"admin" is not an e-mail address/,
  },
  {
    file: "bucket-name-invalid",
    code: "BUCKET_NAME_INVALID",
    path: "backup.bucket.name",
    at: [20, 11],
    message: /"Solo_Backups" is not a valid R2 bucket name/,
  },
  {
    file: "git-url-invalid",
    code: "GIT_URL_INVALID",
    path: "gitops.repoURL",
    at: [22, 12],
    message: /is not a Git repository URL/,
  },
  {
    file: "dns-record-proxied-ttl",
    code: "DNS_RECORD_INVALID",
    path: "dns.records[0].ttl",
    at: [24, 12],
    message: /a proxied record has Cloudflare's automatic TTL/,
    hint: /ttl: 1/,
  },
  {
    file: "dns-record-a-content",
    code: "DNS_RECORD_INVALID",
    path: "dns.records[0].content",
    at: [22, 16],
    message: /"example.pages.dev" is not an IPv4 address/,
  },
  {
    file: "dns-record-reserved",
    code: "DNS_RECORD_RESERVED",
    path: "dns.records[0].name",
    at: [20, 13],
    message: /"k8s-api" is managed from the nodes/,
  },
];

describe("invalid cluster configs", () => {
  it("has at least 20 invalid fixtures, each listed here", async () => {
    const { readdirSync } = await import("node:fs");
    const files = readdirSync(join(fixtures, "invalid")).map((f) => f.replace(/\.yaml$/, ""));
    expect(files.sort()).toEqual(INVALID.map((c) => c.file).sort());
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(INVALID)("$file -> $code at $path", ({ file, code, path, at, message, hint }) => {
    const { config, problems } = validateConfigText(read(`invalid/${file}.yaml`), `${file}.yaml`);
    expect(config === undefined || problems.some((p) => p.severity === "error")).toBe(true);
    const problem = problems.find((p) => p.code === code && p.location.path === path);
    expect(problem, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(problem?.severity).toBe("error");
    expect(problem?.message).toMatch(message);
    expect([problem?.location.line, problem?.location.column]).toEqual(at);
    expect(problem?.location.file).toBe(`${file}.yaml`);
    expect(problem?.hint).toBeTruthy();
    if (hint) expect(problem?.hint).toMatch(hint);
  });
});

describe("valid cluster configs", () => {
  it("accepts a one-node cluster and fills in the defaults", () => {
    const { config, problems } = validateConfigText(read("valid/single-node.yaml"), "single-node.yaml");
    expect(problems).toEqual([]);
    expect(config?.k3s.clusterCidr).toBe("10.42.0.0/16");
    expect(config?.k3s.serviceCidr).toBe("10.43.0.0/16");
    expect(config?.tailscale.tags).toEqual(["tag:k8s"]);
    expect(config?.ssh).toEqual({ user: "root", port: 22 });
    expect(config?.acme.environment).toBe("staging");
    expect(config?.backup.velero.daily).toEqual({ schedule: "0 3 * * *", ttl: "720h0m0s" });
    expect(config?.backup.etcd).toEqual({ enabled: true, folder: "etcd" });
    expect(config?.gitops.revision).toBe("main");
    expect(config?.nodes[0]?.labels).toEqual({});
  });

  it("accepts a three-server HA cluster without warnings", () => {
    const { config, problems } = validateConfigText(read("valid/ha-3-servers.yaml"), "ha.yaml");
    expect(problems).toEqual([]);
    expect(config?.nodes.filter((n) => n.role === "server")).toHaveLength(3);
  });

  it("accepts the example, warning only about its documentation addresses", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
    const { config, problems } = validateConfigText(text, "cluster.example.yaml");
    expect(config?.nodes.map((n) => n.provider)).toEqual(["hetzner", "vultr", "aws"]);
    expect(problems.every((p) => p.severity === "warning" && p.code === "PUBLIC_IP_DOCUMENTATION")).toBe(
      true,
    );
    expect(problems.map((p) => p.location.path)).toEqual([
      "nodes[0].publicIPv4",
      "nodes[1].publicIPv4",
      "nodes[2].publicIPv4",
    ]);
  });

  it("references the JSON Schema with a yaml-language-server modeline in the example", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./schema/cluster.schema.json");
  });

  it("warns (but accepts) servers spread over providers", () => {
    const text = read("valid/ha-3-servers.yaml").replace(
      "    provider: hetzner\n    region: hel1",
      "    provider: vultr\n    region: fra",
    );
    const { config, problems } = validateConfigText(text, "ha.yaml");
    expect(config).toBeDefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      code: "SERVERS_ACROSS_PROVIDERS",
      severity: "warning",
      location: { path: "nodes[2].provider" },
    });
    expect(problems[0]?.message).toMatch(/2 providers \(hetzner, vultr\)/);
  });

  it("reports every error of a file at once, sorted by position", () => {
    const text = read("valid/single-node.yaml")
      .replace("name: solo-1", "name: Solo")
      .replace("email: admin@example.net", "email: nope")
      .replace("domain: solo.example.net", "domain: x");
    const { problems } = validateConfigText(text, "many.yaml");
    expect(problems.map((p) => p.code)).toEqual(["DOMAIN_INVALID", "NODE_NAME_INVALID", "EMAIL_INVALID"]);
  });
});

describe("the fast path (js-yaml) and the positioned path (yaml) agree", () => {
  const valid = ["valid/single-node.yaml", "valid/ha-3-servers.yaml"].map((f) => [f, read(f)] as const);
  const example = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
  it.each([...valid, ["cluster.example.yaml", example] as const])("%s", (file, text) => {
    const fast = validateConfigText(text, file);
    const positioned = validateWithPositions(text, file);
    expect(fast.config).toBeDefined();
    expect(fast).toEqual(positioned);
  });

  it("a file only js-yaml would read differently still gets the positioned verdict", () => {
    // YAML 1.2 core: `2026-01-01` is a string for both parsers (no timestamp type in the core schema).
    const text = read("valid/single-node.yaml").replace(
      "repoURL: git@github.com:example/solo.git",
      "repoURL: git@github.com:example/solo.git\n  revision: 2026-01-01",
    );
    expect(validateConfigText(text, "x.yaml").config?.gitops.revision).toBe("2026-01-01");
    expect(validateWithPositions(text, "x.yaml").config?.gitops.revision).toBe("2026-01-01");
  });
});
