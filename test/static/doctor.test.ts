/**
 * `infra doctor` against the real pinned tools: a cache holding exactly the user group (links to
 * the tools `./infra tools install --tests` built) is complete for a user and incomplete for the tests.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { toolBinDir } from "../../src/toolchain/paths.js";
import { loadVersions } from "../../src/toolchain/versions.js";
import { runCli } from "../helpers/cli.js";

const cache = mkdtempSync(join(tmpdir(), "infra-doctor-user-"));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

interface Result {
  ok: boolean;
  groups: Record<"user" | "tests", { complete: boolean; missing: string[] }>;
}

describe("infra doctor per group, with the real tools", () => {
  it("exits 0 when the user group is complete, and 1 with --tests while the test tools are missing", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    for (const tool of versions.tools.filter((t) => t.group === "user")) {
      const bin = toolBinDir(process.env, versions, tool);
      if (!bin) continue; // apt: on the system PATH
      const installed = dirname(bin);
      const link = join(cache, tool.kind === "pip" ? "venv" : "go", basename(installed));
      mkdirSync(dirname(link), { recursive: true });
      // the pip tools of the group (Ansible, Mitogen) share one virtualenv
      if (!existsSync(link)) symlinkSync(installed, link);
    }
    const which = (bin: string) =>
      (process.env.PATH ?? "").split(":").find((d) => d && existsBin(join(d, bin)));
    const PATH = [dirname(process.execPath), which("go"), "/usr/bin", "/bin"].filter(Boolean).join(":");
    const env = { INFRA_CACHE_DIR: cache, PATH };

    const user = runCli(["doctor", "--json"], { env });
    const report = JSON.parse(user.stdout) as Result;
    expect(report.groups.user, user.stdout).toEqual({ complete: true, missing: [] });
    expect(report.groups.tests.complete).toBe(false);
    expect(report.groups.tests.missing).toContain("kubernetes");
    expect(user.code).toBe(0);

    const tests = runCli(["doctor", "--tests", "--json"], { env });
    expect(tests.code).toBe(1);
    expect((JSON.parse(tests.stdout) as Result).ok).toBe(false);
  });
});

function existsBin(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
