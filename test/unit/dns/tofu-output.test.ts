import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliConfig, type MirroredProvider, parseMessage } from "../../../src/adapters/tofu.js";
import { renderResult, summaryOf } from "../../../src/dns/dns.js";
import { providerMirrorPath, providerPlatform } from "../../../src/toolchain/provider-mirror.js";

const CLOUDFLARE: MirroredProvider = {
  tool: "cloudflare-provider",
  source: "mirror.example.test/acme/widget",
  version: "5.22.0",
  mirror: "/cache/go/cloudflare-provider-x/mirror",
};

describe("provider mirror", () => {
  it("lays a provider out in tofu's unpacked mirror layout", () => {
    expect(providerPlatform("linux", "x64")).toBe("linux_amd64");
    expect(providerPlatform("darwin", "arm64")).toBe("darwin_arm64");
    expect(
      providerMirrorPath(
        "/m",
        { source: "mirror.example.test/acme/widget", version: "5.22.0" },
        "linux_amd64",
      ),
    ).toBe(
      join("/m", "mirror.example.test/acme/widget/5.22.0/linux_amd64/terraform-provider-widget_v5.22.0"),
    );
  });

  it("generates a CLI configuration that installs the provider from the mirror only", () => {
    const config = cliConfig([CLOUDFLARE]);
    expect(config).toContain('path    = "/cache/go/cloudflare-provider-x/mirror"');
    expect(config).toContain('include = ["mirror.example.test/acme/widget"]');
    expect(config).toMatch(/direct \{\n {4}exclude = \["mirror\.example\.test\/acme\/widget"\]/);
  });
});

describe("tofu -json output", () => {
  it("parses tofu messages and ignores everything else", () => {
    const line =
      '{"@level":"info","@message":"Plan: 3 to add, 0 to change, 0 to destroy.","type":"change_summary","changes":{"add":3,"change":0,"import":0,"remove":0,"operation":"plan"}}';
    expect(parseMessage(line)?.changes).toEqual({
      add: 3,
      change: 0,
      import: 0,
      remove: 0,
      operation: "plan",
    });
    expect(parseMessage("Initializing the backend...")).toBeUndefined();
    expect(parseMessage("{broken")).toBeUndefined();
    expect(parseMessage('{"no":"type"}')).toBeUndefined();
  });

  it("counts changes when tofu sent no summary, a replacement as both an add and a destroy", () => {
    const summary = summaryOf({
      summary: undefined,
      changes: [
        { address: "a", action: "create" },
        { address: "b", action: "replace" },
        { address: "c", action: "update" },
        { address: "d", action: "delete" },
      ],
    });
    expect(summary).toEqual({ add: 2, change: 1, remove: 2 });
  });

  it("renders a plan as one line per change and a summary", () => {
    const text = renderResult({
      operation: "plan",
      zone: "example.com",
      bucket: "demo-backups",
      applied: false,
      changes: [
        { address: 'module.dns.cloudflare_dns_record.this["k8s-api/A/100.100.10.1"]', action: "create" },
        { address: "module.r2_bucket.cloudflare_r2_bucket_lifecycle.this", action: "update" },
      ],
      summary: { add: 1, change: 1, remove: 0 },
      warnings: [],
    });
    expect(text.split("\n")).toEqual([
      '  +   module.dns.cloudflare_dns_record.this["k8s-api/A/100.100.10.1"]',
      "  ~   module.r2_bucket.cloudflare_r2_bucket_lifecycle.this",
      "Plan: 1 to add, 1 to change, 0 to destroy.",
      "Tip: infra dns apply",
    ]);
  });

  it("says so when nothing would change", () => {
    const text = renderResult({
      operation: "plan",
      zone: "example.com",
      bucket: "demo-backups",
      applied: false,
      changes: [],
      summary: { add: 0, change: 0, remove: 0 },
      warnings: [],
    });
    expect(text).toBe("No changes: zone example.com and bucket demo-backups match the configuration.");
  });
});
