import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { repoFiles, runTool } from "../helpers/tools.js";

describe("repository hygiene", () => {
  it("every YAML file passes yamllint", () => {
    const files = repoFiles(["*.yaml", "*.yml", ".yamllint"]).filter((f) =>
      existsSync(join(PACKAGE_ROOT, f)),
    );
    expect(files.length).toBeGreaterThan(0);
    const { code, output } = runTool("yamllint", ["--strict", "-c", ".yamllint", ...files]);
    expect(output, output).toBe("");
    expect(code).toBe(0);
  });

  it("every shell script passes shellcheck", () => {
    const scripts = repoFiles(["*"]).filter((f) => {
      const path = join(PACKAGE_ROOT, f);
      if (!existsSync(path) || f.startsWith("node_modules/")) return false;
      return f.endsWith(".sh") || /^#!.*\b(bash|sh)\b/.test(readFileSync(path, "utf8").slice(0, 80));
    });
    expect(scripts).toEqual(expect.arrayContaining(["infra", ".ci/run"]));
    const { code, output } = runTool("shellcheck", ["--severity=style", ...scripts]);
    expect(output, output).toBe("");
    expect(code).toBe(0);
  });

  it("the launcher and CI entry point are executable", () => {
    for (const file of ["infra", ".ci/run"]) {
      const { code } = runTool("test", ["-x", file]);
      expect(code, `${file} must be executable`).toBe(0);
    }
  });
});
