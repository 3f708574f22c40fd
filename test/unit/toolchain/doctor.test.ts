import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";

interface Report {
  name: string;
  group: "user" | "tests";
  status: "found" | "missing";
  pinned: string;
  fix?: string;
}

interface Result {
  ok: boolean;
  groups: Record<"user" | "tests", { complete: boolean; missing: string[] }>;
  tools: Report[];
}

describe("infra doctor", () => {
  it("reports the user tools missing from an empty cache with the command that fixes each, and exits 1", () => {
    const cache = mkdtempSync(join(tmpdir(), "infra-doctor-"));
    // PATH keeps only the system directories, so nothing pinned is found elsewhere.
    const { code, stdout } = runCli(["doctor", "--json"], {
      env: { INFRA_CACHE_DIR: cache, PATH: `${join(process.execPath, "..")}:/usr/bin:/bin` },
    });
    expect(code).toBe(1);
    const result = JSON.parse(stdout) as Result;
    expect(result.ok).toBe(false);
    expect(result.groups.user.complete).toBe(false);
    for (const name of ["sops", "kubeconform", "ansible", "opentofu"]) {
      const tool = result.tools.find((t) => t.name === name);
      expect(tool, name).toMatchObject({
        group: "user",
        status: "missing",
        fix: `./infra tools install ${name}`,
      });
      expect(result.groups.user.missing).toContain(name);
    }
    expect(result.tools.find((t) => t.name === "kubernetes")).toMatchObject({
      group: "tests",
      status: "missing",
    });
    expect(result.groups.tests.missing).toContain("kubernetes");
  });

  it("lists both groups in its human report and says which command installs each", () => {
    const cache = mkdtempSync(join(tmpdir(), "infra-doctor-"));
    const { stdout } = runCli(["doctor"], { env: { INFRA_CACHE_DIR: cache } });
    expect(stdout).toMatch(/✗ sops +missing \(pinned v[\d.]+\) — fix: \.\/infra tools install sops/);
    expect(stdout).toContain("user tools (operating a cluster):");
    expect(stdout).toContain("test tools (the test tiers only):");
    expect(stdout).toMatch(/user tools: missing .*sops.* — `\.\/infra tools install` installs them/);
    expect(stdout).toMatch(
      /test tools: missing .*kubernetes.* — `\.\/infra tools install --tests` installs them/,
    );
    const user = stdout.slice(stdout.indexOf("user tools ("), stdout.indexOf("test tools ("));
    expect(user).not.toContain("kubernetes");
  });
});
