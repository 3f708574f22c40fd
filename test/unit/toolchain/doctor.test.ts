import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";

interface Report {
  name: string;
  status: "found" | "missing";
  pinned: string;
  fix?: string;
}

describe("infra doctor", () => {
  it("reports every pinned tool missing from an empty cache with the command that fixes it, and exits 1", () => {
    const cache = mkdtempSync(join(tmpdir(), "infra-doctor-"));
    // PATH keeps only the system directories, so nothing pinned is found elsewhere.
    const { code, stdout } = runCli(["doctor", "--json"], {
      env: { INFRA_CACHE_DIR: cache, PATH: `${join(process.execPath, "..")}:/usr/bin:/bin` },
    });
    expect(code).toBe(1);
    const result = JSON.parse(stdout) as { ok: boolean; tools: Report[] };
    expect(result.ok).toBe(false);
    for (const name of ["sops", "kubeconform", "ansible", "opentofu"]) {
      const tool = result.tools.find((t) => t.name === name);
      expect(tool, name).toMatchObject({ status: "missing", fix: `./infra tools install ${name}` });
    }
  });

  it("says how to fix a missing tool in its human report", () => {
    const cache = mkdtempSync(join(tmpdir(), "infra-doctor-"));
    const { stdout } = runCli(["doctor"], { env: { INFRA_CACHE_DIR: cache } });
    expect(stdout).toMatch(/✗ sops +missing \(pinned v[\d.]+\) — fix: \.\/infra tools install sops/);
    expect(stdout).toContain("`./infra tools install` installs every pinned tool");
  });
});
