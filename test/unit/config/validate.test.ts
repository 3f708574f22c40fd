import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readConfigDocument } from "../../../src/config/document.js";
import { validateConfigText } from "../../../src/config/load.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import type { InvalidFixture } from "../../helpers/config-fixtures.js";
import { largeClusterYaml } from "../../helpers/large-cluster.js";

const fixtures = join(PACKAGE_ROOT, "test", "fixtures", "config");
const read = (path: string) => readFileSync(join(fixtures, path), "utf8");

/** Every invalid fixture: the code, field path, position, exact message and hint it must produce. */
const INVALID: InvalidFixture[] = [
  {
    file: "account-id-number",
    code: "CONFIG_TYPE",
    path: "cloudflare.accountId",
    at: [6, 14],
    message: "expected text, got the number 12345678901234567890123456789012",
    hint: 'quote it so YAML reads text, not a number: "12345678901234567890123456789012"',
  },
  {
    file: "alias-bomb",
    code: "CONFIG_YAML_ALIAS",
    path: "",
    at: [10, 10],
    message:
      "aliases expand the file to more than 250,000 values (*g alone repeats 11,111,111 values): an alias bomb, not a cluster",
    hint: "aliases for shared settings are fine; remove the aliases of aliases that multiply the data",
  },
  {
    file: "alias-cycle",
    code: "CONFIG_YAML_ALIAS",
    path: "",
    at: [4, 20],
    message: "the alias *loop is inside the value it refers to",
    hint: "an alias cannot refer to a value that contains it",
  },
  {
    file: "alias-undefined",
    code: "CONFIG_YAML_ALIAS",
    path: "",
    at: [17, 13],
    message: "the alias *labels has no anchor &labels before it",
    hint: "define the anchor (&name) before the alias (*name) that uses it",
  },
  {
    file: "bucket-name-invalid",
    code: "BUCKET_NAME_INVALID",
    path: "backup.bucket.name",
    at: [20, 11],
    message: '"Solo_Backups" is not a valid R2 bucket name',
    hint: "use 3–63 lowercase letters, digits and '-', starting and ending alphanumeric",
  },
  {
    file: "cidr-contains-node",
    code: "CIDR_CONTAINS_NODE",
    path: "k3s.serviceCidr",
    at: [9, 16],
    message: "the service network 8.8.4.0/24 contains 8.8.4.4, the publicIPv4 of nodes[0] (solo-1)",
    hint: "choose a block that holds none of the nodes' addresses, e.g. 10.42.0.0/16 (pods) and 10.43.0.0/16 (services)",
  },
  {
    file: "cidr-host-bits",
    code: "CIDR_INVALID",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message:
      '"10.42.1.0/16" is not an IPv4 network block: host bits are set; the network address is 10.42.0.0/16',
    hint: "write the block's network address and prefix length, e.g. 10.42.0.0/16",
  },
  {
    file: "cidr-invalid",
    code: "CIDR_INVALID",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message:
      '"10.42.0.0/33" is not an IPv4 network block: write it as network/prefix, e.g. 10.42.0.0/16 (IPv4 only)',
    hint: "write the block's network address and prefix length, e.g. 10.42.0.0/16",
  },
  {
    file: "cidr-overlap",
    code: "CIDR_OVERLAP",
    path: "k3s.serviceCidr",
    at: [9, 16],
    message: "the service network 10.42.128.0/17 overlaps the pod network 10.42.0.0/16",
    hint: "give them disjoint blocks, e.g. 10.42.0.0/16 and 10.43.0.0/16",
  },
  {
    file: "cidr-tailscale",
    code: "CIDR_OVERLAPS_TAILSCALE",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message: "the pod network 100.96.0.0/16 overlaps Tailscale's 100.64.0.0/10",
    hint: "pick a block outside 100.64.0.0/10, e.g. 10.42.0.0/16 (pods) and 10.43.0.0/16 (services)",
  },
  {
    file: "cluster-cidr-too-small",
    code: "CLUSTER_CIDR_TOO_SMALL",
    path: "k3s.clusterCidr",
    at: [9, 16],
    message: "the pod network 10.42.0.0/24 is smaller than two /24 node blocks",
    hint: "K3s gives every node a /24 of the pod network; use /16 (room for 256 nodes)",
  },
  {
    file: "cron-invalid",
    code: "CRON_INVALID",
    path: "backup.velero.daily.schedule",
    at: [23, 17],
    message: '"every day" is not a schedule Velero accepts: expected exactly 5 fields, found 2: [every day]',
    hint: 'use five fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6), e.g. "0 3 * * *", or @daily, @every 6h',
  },
  {
    file: "cron-never-runs",
    code: "CRON_INVALID",
    path: "backup.velero.daily.schedule",
    at: [23, 17],
    message:
      '"0 3 31 2 *" is not a schedule Velero accepts: no month has that day, so the schedule never runs',
    hint: 'use five fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6), e.g. "0 3 * * *", or @daily, @every 6h',
  },
  {
    file: "cron-out-of-range",
    code: "CRON_INVALID",
    path: "backup.velero.daily.schedule",
    at: [23, 17],
    message:
      '"0 25 * * *" is not a schedule Velero accepts: in the hour field, end of range (25) above maximum (23): "25"',
    hint: 'use five fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6), e.g. "0 3 * * *", or @daily, @every 6h',
  },
  {
    file: "dns-record-a-content",
    code: "DNS_RECORD_INVALID",
    path: "dns.records[0].content",
    at: [22, 16],
    message: '"example.pages.dev" is not an IPv4 address',
    hint: "an A record points at an IPv4 address",
  },
  {
    file: "dns-record-proxied-ttl",
    code: "DNS_RECORD_INVALID",
    path: "dns.records[0].ttl",
    at: [24, 12],
    message: "a proxied record has Cloudflare's automatic TTL",
    hint: "set ttl: 1 for proxied records",
  },
  {
    file: "dns-record-reserved",
    code: "DNS_RECORD_RESERVED",
    path: "dns.records[0].name",
    at: [20, 13],
    message: '"k8s-api" is managed from the nodes (k8s-api: servers\' Tailscale IPs, ingress: ingress nodes)',
    hint: "choose another name; these two records follow the nodes automatically",
  },
  {
    file: "domain-invalid",
    code: "DOMAIN_INVALID",
    path: "domain",
    at: [4, 9],
    message: '"solo_example.net" is not a valid domain name',
    hint: "use a lowercase DNS name inside your Cloudflare zone, e.g. example.com or k8s.example.com",
  },
  {
    file: "domain-not-in-zone",
    code: "DOMAIN_NOT_IN_ZONE",
    path: "cloudflare.zone",
    at: [7, 9],
    message: "the domain solo.example.net is not inside the zone example.com",
    hint: "set cloudflare.zone to the zone that holds solo.example.net (or leave it out when they are equal)",
  },
  {
    file: "duplicate-key",
    code: "CONFIG_DUPLICATE_KEY",
    path: "",
    at: [5, 1],
    message: 'the key "name" appears twice in the same mapping (first at line 4)',
    hint: "keep one of them: YAML allows each key once per mapping",
  },
  {
    file: "email-invalid",
    code: "EMAIL_INVALID",
    path: "acme.email",
    at: [17, 10],
    message: '"admin" is not an e-mail address Let\'s Encrypt accepts: it has no @',
    hint: "write a plain address such as ops@your-domain.tld (no mailto:, no name, no <>)",
  },
  {
    file: "email-url",
    code: "EMAIL_INVALID",
    path: "acme.email",
    at: [17, 10],
    message:
      '"mailto:admin@solo.example.net" is not an e-mail address Let\'s Encrypt accepts: it is a mailto: URL',
    hint: "write a plain address such as ops@your-domain.tld (no mailto:, no name, no <>)",
  },
  {
    file: "empty-value",
    code: "CONFIG_TYPE",
    path: "domain",
    at: [4, 8],
    message: '"domain" is empty; it needs text',
    hint: 'write text after "domain:" (see cluster.example.yaml)',
  },
  {
    file: "empty",
    code: "CONFIG_EMPTY",
    path: "",
    at: [1, 1],
    message: "the file has no settings (it is empty or only comments)",
    hint: "start from cluster.example.yaml, or run `infra init` to write one",
  },
  {
    file: "even-servers",
    code: "SERVER_COUNT_EVEN",
    path: "nodes[1].role",
    at: [17, 11],
    message: "2 servers: embedded etcd needs an odd number of servers when there is more than one",
    hint: "use 1 or 3 servers; an even count tolerates no more failures than one less",
  },
  {
    file: "git-url-invalid",
    code: "GIT_URL_INVALID",
    path: "gitops.repoURL",
    at: [22, 12],
    message: '"ftp://example.net/solo.git" is not a Git repository URL',
    hint: "use the URL Argo CD clones, e.g. https://github.com/you/infra-k3s.git or git@github.com:you/infra-k3s.git",
  },
  {
    file: "k3s-channel",
    code: "K3S_VERSION_INVALID",
    path: "k3s.version",
    at: [8, 12],
    message: '"stable" is not a K3s release version',
    hint: "pin an exact release such as v1.36.3+k3s1 (channels such as stable are not allowed)",
  },
  {
    file: "k3s-old-minor",
    code: "K3S_VERSION_TOO_OLD",
    path: "k3s.version",
    at: [8, 12],
    message:
      "K3s v1.32.9+k3s1 is from a line without the Tailscale/flannel fix; the oldest supported release is v1.33.13+k3s1",
    hint: "older releases lose flannel.1 whenever tailscaled restarts (k3s-io/k3s#12436); use v1.36.2+, v1.35.6+, v1.34.9+ or v1.33.13+",
  },
  {
    file: "k3s-too-new",
    code: "K3S_VERSION_UNKNOWN",
    path: "k3s.version",
    at: [8, 12],
    message: "K3s v1.99.0+k3s1 is newer than any release infra knows (the newest is v1.37.1+k3s1)",
    hint: "pin a released version between v1.33.13+k3s1 and v1.37.1+k3s1; a new minor is supported once infra's table of releases (src/config/k3s-version.ts) lists it",
  },
  {
    file: "k3s-too-old",
    code: "K3S_VERSION_TOO_OLD",
    path: "k3s.version",
    at: [8, 12],
    message:
      "K3s v1.36.1+k3s1 is older than v1.36.2+k3s1, the first 1.36 release with the Tailscale/flannel fix",
    hint: "older releases lose flannel.1 whenever tailscaled restarts (k3s-io/k3s#12436); use v1.36.2+, v1.35.6+, v1.34.9+ or v1.33.13+",
  },
  {
    file: "label-bool",
    code: "CONFIG_TYPE",
    path: "nodes[0].labels.ready",
    at: [17, 14],
    message: "expected text, got true (a yes/no value)",
    hint: 'quote it so YAML reads text, not true/false: "true"',
  },
  {
    file: "label-kubernetes-namespace",
    code: "LABEL_KUBELET_REFUSES",
    path: 'nodes[0].labels["app.kubernetes.io/name"]',
    at: [17, 7],
    message:
      "the kubelet refuses to set the label app.kubernetes.io/name on its own node (the agent would not start)",
    hint: "under kubernetes.io and k8s.io a node may only set kubelet.kubernetes.io/*, node.kubernetes.io/* and the well-known topology, os, arch, hostname and instance-type labels; use your own prefix",
  },
  {
    file: "label-node-role",
    code: "LABEL_KUBELET_REFUSES",
    path: 'nodes[0].labels["node-role.kubernetes.io/worker"]',
    at: [17, 7],
    message:
      "the kubelet refuses to set the label node-role.kubernetes.io/worker on its own node (the agent would not start)",
    hint: "label roles after the node joined (kubectl label node), or use your own prefix such as example.com/role",
  },
  {
    file: "merge-not-mapping",
    code: "CONFIG_YAML_MERGE",
    path: "",
    at: [11, 9],
    message: "a merge key (<<) takes a mapping, an alias of one, or a list of those",
    hint: "write `<<: *defaults` where `&defaults` names a mapping",
  },
  {
    file: "missing-domain",
    code: "CONFIG_REQUIRED",
    path: "domain",
    at: [2, 1],
    message: 'required field "domain" is missing',
    hint: "add `domain:` here (see cluster.example.yaml for an example value)",
  },
  {
    file: "multiple-documents",
    code: "CONFIG_MULTIPLE_DOCUMENTS",
    path: "",
    at: [24, 1],
    message: "the file holds 2 YAML documents (separated by ---); a cluster.yaml describes one cluster",
    hint: "remove this --- and what follows, or move the second cluster to a file of its own and choose it with --config",
  },
  {
    file: "no-ingress",
    code: "NO_INGRESS_NODE",
    path: "nodes",
    at: [10, 3],
    message: "no node has ingress: true",
    hint: "set `ingress: true` on the node(s) whose public IP should serve HTTP(S); DNS points the ingress record at them (or serve through a Cloudflare Tunnel: ingress.mode: tunnel)",
  },
  {
    file: "no-server",
    code: "NO_SERVER",
    path: "nodes",
    at: [10, 3],
    message: "no node has role: server",
    hint: "set `role: server` on one node (or three for high availability); servers run the control plane and etcd",
  },
  {
    file: "node-name-duplicate",
    code: "NODE_NAME_DUPLICATE",
    path: "nodes[1].name",
    at: [16, 11],
    message: 'node name "solo-1" is already used by nodes[0]',
    hint: "every node needs its own node name; rename or remove one of them",
  },
  {
    file: "node-name-invalid",
    code: "NODE_NAME_INVALID",
    path: "nodes[0].name",
    at: [10, 11],
    message: '"Solo_1" is not a valid node name (DNS-1123 label)',
    hint: "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (e.g. hetzner-fsn1-1)",
  },
  {
    file: "not-a-mapping",
    code: "CONFIG_NOT_A_MAPPING",
    path: "",
    at: [1, 1],
    message: "the file holds a list, not the mapping of settings (key: value lines) a cluster.yaml is",
    hint: "start from cluster.example.yaml or run `infra init`",
  },
  {
    file: "provider-typo",
    code: "CONFIG_INVALID_OPTION",
    path: "nodes[0].provider",
    at: [12, 15],
    message: '"hetzer" is not one of hetzner, vultr, aws, generic',
    hint: 'did you mean "hetzner"?',
  },
  {
    file: "public-ip-cgnat",
    code: "PUBLIC_IP_NOT_PUBLIC",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message:
      '"100.80.1.1" is not a public IPv4 address: shared CGNAT space (RFC 6598; Tailscale uses it), 100.64.0.0/10',
    hint: "use the address the host is reached at from the internet (the provider's console shows it); the Tailscale address goes in tailscaleIPv4",
  },
  {
    file: "public-ip-duplicate",
    code: "PUBLIC_IP_DUPLICATE",
    path: "nodes[1].publicIPv4",
    at: [20, 17],
    message: 'public address "8.8.4.4" is already used by nodes[0]',
    hint: "every node needs its own public address; rename or remove one of them",
  },
  {
    file: "public-ip-loopback",
    code: "PUBLIC_IP_NOT_PUBLIC",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: '"127.0.0.1" is not a public IPv4 address: loopback, 127.0.0.0/8',
    hint: "use the address the host is reached at from the internet (the provider's console shows it); the Tailscale address goes in tailscaleIPv4",
  },
  {
    file: "public-ip-malformed",
    code: "IP_INVALID",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: '"203.0.113.256" is not a public IPv4 address: it is not four numbers 0-255 separated by dots',
    hint: "use the address the host is reached at from the internet (the provider's console shows it); the Tailscale address goes in tailscaleIPv4",
  },
  {
    file: "public-ip-private",
    code: "PUBLIC_IP_NOT_PUBLIC",
    path: "nodes[0].publicIPv4",
    at: [14, 17],
    message: '"192.168.1.10" is not a public IPv4 address: private (RFC 1918), 192.168.0.0/16',
    hint: "use the address the host is reached at from the internet (the provider's console shows it); the Tailscale address goes in tailscaleIPv4",
  },
  {
    file: "revision-invalid",
    code: "REVISION_INVALID",
    path: "gitops.revision",
    at: [23, 13],
    message: "\"main..dev\" is not a Git branch, tag or commit: git refuses '..', '@{' and a lone '@'",
    hint: "use a branch, tag or commit, e.g. main",
  },
  {
    file: "role-typo",
    code: "CONFIG_INVALID_OPTION",
    path: "nodes[0].role",
    at: [11, 11],
    message: '"sever" is not one of server, agent',
    hint: 'did you mean "server"?',
  },
  {
    file: "service-cidr-too-large",
    code: "SERVICE_CIDR_TOO_LARGE",
    path: "k3s.serviceCidr",
    at: [9, 16],
    message: "the service network 172.0.0.0/8 is larger than /12, which Kubernetes refuses",
    hint: "use /12 to /24, e.g. 10.43.0.0/16",
  },
  {
    file: "service-cidr-too-small",
    code: "SERVICE_CIDR_TOO_SMALL",
    path: "k3s.serviceCidr",
    at: [9, 16],
    message:
      "the service network 10.43.0.0/29 has fewer than 16 addresses; K3s puts the cluster DNS on its 10th",
    hint: "use /28 or larger, e.g. 10.43.0.0/16",
  },
  {
    file: "ssh-key-relative",
    code: "SSH_KEY_PATH_RELATIVE",
    path: "ssh.privateKeyFile",
    at: [17, 19],
    message:
      '"keys/id_ed25519" is not a path from your home or the root: Ansible runs ssh from ansible/, so a relative path would be looked for there',
    hint: "write it from your home (~/.ssh/id_ed25519) or as an absolute path",
  },
  {
    file: "ssh-port-range",
    code: "CONFIG_OUT_OF_RANGE",
    path: "ssh.port",
    at: [10, 9],
    message: "70000 is above the maximum 65535",
    hint: "use a number of at most 65535",
  },
  {
    file: "tailscale-ip-chromeos",
    code: "TAILSCALE_IP_INVALID",
    path: "nodes[0].tailscaleIPv4",
    at: [15, 20],
    message:
      '"100.115.92.10" is not an address Tailscale assigns to a node: the ChromeOS VM range 100.115.92.0/23, which Tailscale never assigns',
    hint: "copy the node's address from `tailscale ip -4`, or leave tailscaleIPv4 out: it is then read at join time",
  },
  {
    file: "tailscale-ip-outside",
    code: "TAILSCALE_IP_INVALID",
    path: "nodes[0].tailscaleIPv4",
    at: [15, 20],
    message:
      '"10.1.1.1" is not an address Tailscale assigns to a node: outside 100.64.0.0/10, where Tailscale assigns addresses',
    hint: "copy the node's address from `tailscale ip -4`, or leave tailscaleIPv4 out: it is then read at join time",
  },
  {
    file: "tailscale-ip-reserved",
    code: "TAILSCALE_IP_INVALID",
    path: "nodes[0].tailscaleIPv4",
    at: [15, 20],
    message:
      '"100.100.100.100" is not an address Tailscale assigns to a node: Tailscale\'s own service address (MagicDNS, 100.100.100.100)',
    hint: "copy the node's address from `tailscale ip -4`, or leave tailscaleIPv4 out: it is then read at join time",
  },
  {
    file: "taint-duplicate",
    code: "TAINT_DUPLICATE",
    path: "nodes[0].taints[1]",
    at: [18, 9],
    message: "the taint dedicated:NoSchedule is already in taints[0]",
    hint: "the kubelet refuses two taints with the same key and effect; keep one",
  },
  {
    file: "taint-invalid",
    code: "TAINT_INVALID",
    path: "nodes[0].taints[0]",
    at: [17, 9],
    message: '"dedicated=edge" is not a valid taint: it has no :Effect',
    hint: "write taints as key=value:Effect (or key:Effect) with Effect NoSchedule, PreferNoSchedule or NoExecute",
  },
  {
    file: "ttl-invalid",
    code: "DURATION_INVALID",
    path: "backup.velero.daily.ttl",
    at: [23, 12],
    message: '"30d" is not a retention Velero accepts: "d" is not a unit (use h, m, s, ms, us or ns)',
    hint: "write a Go duration such as 720h0m0s, 168h or 90m (no days: 30 days is 720h)",
  },
  {
    file: "ttl-zero",
    code: "DURATION_INVALID",
    path: "backup.velero.daily.ttl",
    at: [23, 12],
    message:
      '"0s" is not a retention Velero accepts: a backup must be kept for some time (Velero would use its own default for 0)',
    hint: "write a Go duration such as 720h0m0s, 168h or 90m (no days: 30 days is 720h)",
  },
  {
    file: "type-mapping",
    code: "CONFIG_TYPE",
    path: "cloudflare",
    at: [5, 13],
    message: "expected a mapping, got text",
    hint: "write a mapping here",
  },
  {
    file: "unknown-key-transposed",
    code: "CONFIG_UNKNOWN_KEY",
    path: "nodes[0].pubilcIPv4",
    at: [14, 5],
    message: 'unknown key "pubilcIPv4"',
    hint: 'did you mean "publicIPv4"?',
  },
  {
    file: "unknown-key-typo",
    code: "CONFIG_UNKNOWN_KEY",
    path: "domian",
    at: [4, 1],
    message: 'unknown key "domian"',
    hint: 'did you mean "domain"?',
  },
  {
    file: "unknown-node-key",
    code: "CONFIG_UNKNOWN_KEY",
    path: "nodes[0].publicIP",
    at: [15, 5],
    message: 'unknown key "publicIP"',
    hint: 'did you mean "publicIPv4"?',
  },
  {
    file: "version-unsupported",
    code: "CONFIG_VERSION_UNSUPPORTED",
    path: "version",
    at: [2, 10],
    message: "unsupported config version 2",
    hint: "this infra reads version: 1; set `version: 1` (or update infra)",
  },
  {
    file: "yaml-syntax",
    code: "CONFIG_YAML_SYNTAX",
    path: "",
    at: [15, 1],
    message: "YAML syntax error: All mapping items must start at the same column",
    hint: "fix the YAML at that position (indentation, a missing ':' or closing quote)",
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
    const errors = problems.filter((p) => p.severity === "error");
    expect(errors[0], JSON.stringify(problems, null, 2)).toEqual({
      code,
      severity: "error",
      message,
      hint,
      location: { file: `${file}.yaml`, line: at[0], column: at[1], path },
    });
  });
});

/** Problems as `code path` lines, for compact assertions. */
const summary = (problems: { code: string; location: { path: string } }[]) =>
  problems.map((p) => `${p.code} ${p.location.path}`);

describe("valid cluster configs", () => {
  it("accepts a one-node cluster and fills in the defaults", () => {
    const { config, problems } = validateConfigText(read("valid/single-node.yaml"), "single-node.yaml");
    // Let's Encrypt refuses addresses at example.net; the fixture keeps one, so it is warned about.
    expect(summary(problems)).toEqual(["EMAIL_EXAMPLE_DOMAIN acme.email"]);
    expect(problems[0]?.severity).toBe("warning");
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

  it("accepts a three-server HA cluster, warning only about the example e-mail domain", () => {
    const { config, problems } = validateConfigText(read("valid/ha-3-servers.yaml"), "ha.yaml");
    expect(problems).toEqual([
      {
        code: "EMAIL_EXAMPLE_DOMAIN",
        severity: "warning",
        message: "Let's Encrypt refuses contact addresses at example.org",
        hint: "fine for the example; put an address you read before `infra up` issues certificates",
        location: { file: "ha.yaml", line: 62, column: 10, path: "acme.email" },
      },
    ]);
    expect(config?.nodes.filter((n) => n.role === "server")).toHaveLength(3);
  });

  it("accepts the example, warning only about its documentation addresses and e-mail", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
    const { config, problems } = validateConfigText(text, "cluster.example.yaml");
    expect(config?.nodes.map((n) => n.provider)).toEqual(["hetzner", "vultr", "aws"]);
    expect(problems.every((p) => p.severity === "warning")).toBe(true);
    expect(summary(problems)).toEqual([
      "PUBLIC_IP_DOCUMENTATION nodes[0].publicIPv4",
      "PUBLIC_IP_DOCUMENTATION nodes[1].publicIPv4",
      "PUBLIC_IP_DOCUMENTATION nodes[2].publicIPv4",
      "EMAIL_EXAMPLE_DOMAIN acme.email",
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
    expect(summary(problems)).toEqual([
      "SERVERS_ACROSS_PROVIDERS nodes[2].provider",
      "EMAIL_EXAMPLE_DOMAIN acme.email",
    ]);
    expect(problems[0]?.message).toBe(
      "servers run at 2 providers (hetzner, vultr): etcd is sensitive to the latency between them",
    );
  });

  it("warns (but accepts) a K3s patch newer than the newest release infra knows", () => {
    const text = read("valid/single-node.yaml").replace("version: v1.35.6+k3s1", "version: v1.35.9+k3s1");
    const { config, problems } = validateConfigText(text, "solo.yaml");
    expect(config?.k3s.version).toBe("v1.35.9+k3s1");
    expect(problems[0]).toEqual({
      code: "K3S_VERSION_NEWER_THAN_KNOWN",
      severity: "warning",
      message: "K3s v1.35.9+k3s1 is newer than the newest release infra knows in its line (v1.35.6+k3s1)",
      hint: "fine if K3s has released it; if not, the install fails: check K3s's release list, or pin a known release",
      location: { file: "solo.yaml", line: 8, column: 12, path: "k3s.version" },
    });
  });

  it.each([
    ["@daily"],
    ["@every 6h"],
    ["@every 1h30m"],
    ["CRON_TZ=Europe/Berlin 0 3 * * *"],
    ["*/15 * * * *"],
    ["0 3 * * mon-fri"],
    ["0 3 1,15 jan,jul ?"],
    ["0 3 29 2 *"],
  ])("accepts the schedule %s as Velero does", (schedule) => {
    const text = read("valid/single-node.yaml").replace(
      "    name: solo-backups",
      `    name: solo-backups\n  velero:\n    daily:\n      schedule: "${schedule}"`,
    );
    const { config, problems } = validateConfigText(text, "solo.yaml");
    expect(summary(problems)).toEqual(["EMAIL_EXAMPLE_DOMAIN acme.email"]);
    expect(config?.backup.velero.daily.schedule).toBe(schedule);
  });

  it("reports every error of a file at once, sorted by position", () => {
    const text = read("valid/single-node.yaml")
      .replace("name: solo-1", "name: Solo")
      .replace("email: admin@example.net", "email: nope")
      .replace("domain: solo.example.net", "domain: x");
    const { problems } = validateConfigText(text, "many.yaml");
    expect(problems.map((p) => p.code)).toEqual(["DOMAIN_INVALID", "NODE_NAME_INVALID", "EMAIL_INVALID"]);
  });

  it("says a misspelt required key once: the 'did you mean', not also 'missing'", () => {
    const { problems } = validateConfigText(read("invalid/unknown-key-typo.yaml"), "typo.yaml");
    expect(summary(problems.filter((p) => p.severity === "error"))).toEqual(["CONFIG_UNKNOWN_KEY domian"]);
  });
});

describe("anchors, aliases and merge keys (<<)", () => {
  it.each([
    ["an alias", "a: &x {k: 1}\nb: *x\n"],
    ["a merge, own keys after it win", "a: &x {k: 1, j: 2}\nb:\n  <<: *x\n  k: 3\n"],
    ["a merge, own keys before it win", "a: &x {k: 1, j: 2}\nb:\n  k: 3\n  <<: *x\n"],
    ["merges from a list, the earlier wins", "a: &x {k: 1}\nb: &y {k: 2, j: 3}\nc:\n  <<: [*x, *y]\n"],
    ["a merge of a merge", "a: &x {k: 1}\nb: &y {<<: *x, j: 2}\nc: {<<: *y, i: 3}\n"],
    ["an inline merge", "c:\n  <<: {k: 1}\n  j: 2\n"],
    ["an anchor redefined", "a: &x 1\nb: *x\nc: &x 2\nd: *x\n"],
    ["anchored scalars and lists", "a: &x [1, &y two, {k: *y}]\nb: *x\n"],
  ])("read %s exactly as the yaml library's own conversion does", (_name, text) => {
    const read = readConfigDocument(text);
    expect(read.ok && read.document.data).toEqual(parse(text, { merge: true }));
  });

  it("read a file with them as the same cluster written out in full", () => {
    const plain = validateConfigText(read("valid/ha-3-servers.yaml"), "ha.yaml");
    const anchored = validateConfigText(read("valid/ha-3-servers-anchors.yaml"), "anchors.yaml");
    expect(anchored.config).toEqual(plain.config);
    expect(summary(anchored.problems)).toEqual(summary(plain.problems));
  });

  it("locate a problem in shared content where it is written, and say it once", () => {
    const text = read("valid/ha-3-servers-anchors.yaml").replace(
      "provider: &provider hetzner",
      "provider: &provider hetzner_x",
    );
    const { problems } = validateConfigText(text, "anchors.yaml");
    expect(problems.filter((p) => p.severity === "error")).toEqual([
      {
        code: "CONFIG_INVALID_OPTION",
        severity: "error",
        message:
          '"hetzner_x" is not one of hetzner, vultr, aws, generic (written once, used in 3 places through an alias)',
        hint: 'did you mean "hetzner"?',
        location: { file: "anchors.yaml", line: 24, column: 25, path: "nodes[0].provider" },
      },
    ]);
  });

  it("locate a rule's finding on a merged value where the value is written", () => {
    // cp-2 no longer sets its own Tailscale address, so it merges cp-1's.
    const text = read("valid/ha-3-servers-anchors.yaml").replace("    tailscaleIPv4: 100.64.0.2\n", "");
    const { problems } = validateConfigText(text, "anchors.yaml");
    expect(problems.find((p) => p.code === "TAILSCALE_IP_DUPLICATE")).toMatchObject({
      message: 'Tailscale address "100.64.0.1" is already used by nodes[0]',
      location: { file: "anchors.yaml", line: 27, column: 20, path: "nodes[1].tailscaleIPv4" },
    });
  });

  it("accept a 1,000-node file that shares settings through an anchor, and locate an error in it once", () => {
    const good = validateConfigText(largeClusterYaml(1000), "big.yaml");
    expect(good.config?.nodes).toHaveLength(1000);
    expect(good.config?.nodes[999]?.ssh).toEqual({ user: "admin", port: 22 });
    expect(summary(good.problems)).toEqual(["EMAIL_EXAMPLE_DOMAIN acme.email"]);
    const bad = validateConfigText(largeClusterYaml(1000, "bad value"), "big.yaml");
    expect(bad.problems.map((p) => [p.code, p.location.path, p.location.line, p.message])).toEqual([
      [
        "LABEL_INVALID",
        'nodes[3].labels["example.com/pool"]',
        97,
        `"bad value" is not a Kubernetes label value: it must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit (written once, used in 997 places through an alias)`,
      ],
    ]);
  });
});

describe("plain words", () => {
  const jargon =
    /\bundefined\b|\bNaN\b|expected an? record|got an? object|\[object|parseAllDocuments|YAML\.parse|Zod|block-seq|map-value-ind|seq-item/;
  it.each(INVALID)("$file: no library types, no undefined", ({ file }) => {
    const { problems } = validateConfigText(read(`invalid/${file}.yaml`), `${file}.yaml`);
    for (const problem of problems) {
      expect(problem.message).not.toMatch(jargon);
      expect(problem.hint ?? "").not.toMatch(jargon);
      expect(problem.message.length).toBeLessThan(400);
    }
  });
});
