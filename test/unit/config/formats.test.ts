/**
 * The single-field formats against the rules of their consumers: Go's time.ParseDuration, apimachinery's names and taints, the kubelet's self-labels,
 * Let's Encrypt's contact e-mail, Tailscale's reserved addresses and the K3s release table.
 */
import { describe, expect, it } from "vitest";
import { checkEmail } from "../../../src/config/email.js";
import {
  K3S_DEFAULT_VERSION,
  K3S_MINORS,
  K3S_NEWEST_KNOWN,
  k3sSupport,
  parseK3sVersion,
} from "../../../src/config/k3s-version.js";
import {
  kubeletRefusesLabel,
  labelValueProblem,
  parseTaint,
  qualifiedNameProblem,
} from "../../../src/config/names.js";
import { parseIPv4, tailscaleAddressProblem } from "../../../src/config/net.js";
import { parseGoDuration } from "../../../src/lib/go-duration.js";

describe("Go durations (time.ParseDuration)", () => {
  it.each([
    ["720h0m0s", 720n * 3600n * 1_000_000_000n],
    ["168h", 168n * 3600n * 1_000_000_000n],
    ["1.5h", 5400n * 1_000_000_000n],
    ["90m", 5400n * 1_000_000_000n],
    ["1h30m", 5400n * 1_000_000_000n],
    ["30s1h", 3630n * 1_000_000_000n],
    ["300ms", 300_000_000n],
    ["1us", 1000n],
    ["1\u00b5s", 1000n],
    ["1\u03bcs", 1000n],
    ["0", 0n],
    ["+5m", 300n * 1_000_000_000n],
    ["-5m", -300n * 1_000_000_000n],
    [".5s", 500_000_000n],
    ["2562047h", 2562047n * 3600n * 1_000_000_000n],
  ])("%s", (text, nanoseconds) => {
    expect(parseGoDuration(text)).toEqual({ ok: true, nanoseconds });
  });

  it.each([
    ["", "it is empty"],
    ["30d", '"d" is not a unit (use h, m, s, ms, us or ns)'],
    ["10", "a number lacks its unit (h, m, s, ms, us or ns)"],
    ["h", "each part starts with a number"],
    [".s", "a '.' needs digits"],
    ["1h 30m", '"h " is not a unit (use h, m, s, ms, us or ns)'],
    ["2562048h", "it is too long for a duration"],
    ["99999999999999999999h", "it is too long for a duration"],
  ])("refuses %j", (text, reason) => {
    expect(parseGoDuration(text)).toEqual({ ok: false, reason });
  });
});

describe("Kubernetes names, labels and taints", () => {
  it.each([
    ["ready", undefined],
    ["example.com/pool", undefined],
    ["a".repeat(63), undefined],
    ["a".repeat(64), "the name is longer than 63 characters"],
    ["Example.com/pool", "the prefix before '/' is not a lowercase DNS name"],
    ["/pool", "the prefix before '/' is empty"],
    ["a/b/c", "it has more than one '/'"],
    [
      "example.com/-pool",
      "the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    ],
    [`${"a".repeat(254)}/x`, "the prefix before '/' is longer than 253 characters"],
  ])("key %j", (key, problem) => {
    expect(qualifiedNameProblem(key)).toBe(problem);
  });

  it.each([
    ["", undefined],
    ["edge", undefined],
    ["a.b-c_d", undefined],
    ["a".repeat(64), "it is longer than 63 characters"],
    [
      "bad value",
      "it must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    ],
  ])("value %j", (value, problem) => {
    expect(labelValueProblem(value)).toBe(problem);
  });

  it.each([
    ["node-role.kubernetes.io/worker", true],
    ["node-role.kubernetes.io/control-plane", true],
    ["app.kubernetes.io/name", true],
    ["kubernetes.io/role", true],
    ["k8s.io/anything", true],
    ["foo.k8s.io/x", true],
    ["node-restriction.kubernetes.io/pool", true],
    ["topology.kubernetes.io/zone", false],
    ["topology.kubernetes.io/region", false],
    ["node.kubernetes.io/instance-type", false],
    ["node.kubernetes.io/anything", false],
    ["kubelet.kubernetes.io/x", false],
    ["sub.node.kubernetes.io/x", false],
    ["kubernetes.io/hostname", false],
    ["example.com/role", false],
    ["ready", false],
    ["mykubernetes.io/x", false],
  ])("the kubelet refuses to self-set %s: %s", (key, refused) => {
    expect(kubeletRefusesLabel(key)).toBe(refused);
  });

  it.each([
    ["dedicated=edge:NoSchedule", { key: "dedicated", value: "edge", effect: "NoSchedule" }],
    ["batch:NoExecute", { key: "batch", value: "", effect: "NoExecute" }],
    ["example.com/gpu=:PreferNoSchedule", { key: "example.com/gpu", value: "", effect: "PreferNoSchedule" }],
    ["dedicated=edge", "it has no :Effect"],
    ["a:b:NoSchedule", "it has more than one ':'"],
    ["a=b=c:NoSchedule", "it has more than one '='"],
    ["dedicated=edge:Never", 'the effect "Never" is not NoSchedule, PreferNoSchedule or NoExecute'],
    // an effect of any length is echoed cut, as every config value is (found by the config fuzzer)
    [
      `batch:NoExecute ${"x".repeat(1000)}`,
      `the effect "NoExecute ${"x".repeat(50)}…" (1,010 characters) is not NoSchedule, PreferNoSchedule or NoExecute`,
    ],
    ["=edge:NoSchedule", "the key: the name is empty"],
    [
      "a=bad value:NoSchedule",
      "the value: it must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    ],
  ])("taint %j", (text, expected) => {
    expect(parseTaint(text)).toEqual(expected);
  });
});

describe("the ACME e-mail as Let's Encrypt judges it", () => {
  it.each(["ops@acme.io", "first.last+k8s@mail.example.co.uk", '"odd name"@acme.io', "ops@example.com"])(
    "accepts %s",
    (email) => {
      expect(checkEmail(email).ok).toBe(true);
    },
  );

  it.each([
    ["mailto:ops@acme.io", "it is a mailto: URL"],
    ["https://acme.io/contact", "it is a URL"],
    ["Ops <ops@acme.io>", "it has a display name or <>"],
    ["ops", "it has no @"],
    ["@acme.io", "nothing comes before the @"],
    ["o ps@acme.io", 'the part before the @ ("o ps") is not a mailbox name'],
    ["ops@localhost", '"localhost" is not a public domain name'],
    ["ops@[192.0.2.1]", "Let's Encrypt refuses an address at an IP literal"],
    ["ops@acme", '"acme" is not a public domain name'],
  ])("refuses %s", (email, reason) => {
    expect(checkEmail(email)).toMatchObject({ ok: false, reason });
  });
});

describe("Tailscale's reserved addresses (tsaddr)", () => {
  it.each([
    ["100.64.0.1", undefined],
    ["100.127.255.254", undefined],
    ["100.100.100.101", undefined],
    ["100.100.100.100", "Tailscale's own service address (MagicDNS, 100.100.100.100)"],
    ["100.115.92.1", "the ChromeOS VM range 100.115.92.0/23, which Tailscale never assigns"],
    ["100.115.93.255", "the ChromeOS VM range 100.115.92.0/23, which Tailscale never assigns"],
    ["100.115.94.0", undefined],
    ["10.0.0.1", "outside 100.64.0.0/10, where Tailscale assigns addresses"],
  ])("%s", (text, problem) => {
    const address = parseIPv4(text);
    expect(address).toBeDefined();
    if (address !== undefined) expect(tailscaleAddressProblem(address)).toBe(problem);
  });
});

describe("the K3s release table", () => {
  it("holds the pinned version, and the newest known is the newest minor's newest", () => {
    const pinned = parseK3sVersion(K3S_DEFAULT_VERSION);
    expect(pinned && k3sSupport(pinned)).toEqual({ verdict: "supported" });
    const newest = Math.max(...Object.keys(K3S_MINORS).map(Number));
    expect(K3S_NEWEST_KNOWN).toBe(K3S_MINORS[newest]?.newest);
    for (const [minor, { minimumPatch, newest: release }] of Object.entries(K3S_MINORS)) {
      const parsed = parseK3sVersion(release);
      expect(parsed?.minor).toBe(Number(minor));
      expect(parsed && parsed.patch >= minimumPatch).toBe(true);
    }
  });

  it.each([
    ["v1.36.3+k3s1", { verdict: "supported" }],
    ["v1.37.0+k3s1", { verdict: "supported" }],
    ["v1.36.4+k3s1", { verdict: "newer-than-known", newest: "v1.36.3+k3s1" }],
    ["v1.36.3+k3s2", { verdict: "newer-than-known", newest: "v1.36.3+k3s1" }],
    ["v1.38.0+k3s1", { verdict: "unknown-minor", newest: "v1.37.1+k3s1" }],
    ["v2.0.0+k3s1", { verdict: "unknown-minor", newest: "v1.37.1+k3s1" }],
    ["v1.36.1+k3s1", { verdict: "too-old", minimum: "v1.36.2+k3s1", oldMinor: false }],
    ["v1.30.0+k3s1", { verdict: "too-old", minimum: "v1.33.13+k3s1", oldMinor: true }],
    ["v0.9.0+k3s1", { verdict: "too-old", minimum: "v1.33.13+k3s1", oldMinor: true }],
  ])("%s", (text, support) => {
    const version = parseK3sVersion(text);
    expect(version && k3sSupport(version)).toEqual(support);
  });
});
