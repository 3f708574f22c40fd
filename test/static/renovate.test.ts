/**
 * renovate.json: Renovate's own validator accepts it, and Renovate's own extraction (offline) matches
 * every `# renovate:` annotation in the tree with one of its custom managers, each manager matches
 * something, and every datasource is one Renovate knows. A broken annotation is reported at its line.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { annotationProblems } from "../helpers/renovate.js";
import { commitAll, copyRepository, type RepoCopy } from "../helpers/repo-copy.js";
import { runTool } from "../helpers/tools.js";

const copies: RepoCopy[] = [];
afterAll(async () => {
  for (const copy of copies) await copy.remove();
});

describe("renovate.json", () => {
  it("passes renovate-config-validator --strict (the pinned Renovate)", () => {
    const { code, output } = runTool("renovate-config-validator", ["--strict"]);
    expect(output).toMatch(/Config validated successfully/);
    expect(code, output).toBe(0);
  });

  it("uses only regular expressions RE2 accepts (hosted Renovate matches with RE2)", () => {
    const config = JSON.parse(readFileSync(join(PACKAGE_ROOT, "renovate.json"), "utf8")) as {
      customManagers: { matchStrings: string[] }[];
    };
    const patterns = config.customManagers.flatMap((m) => m.matchStrings);
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) {
      expect(pattern, "no lookaround").not.toMatch(/\(\?<?[=!]/);
      expect(pattern, "no backreference").not.toMatch(/\\[1-9]|\\k</);
      expect(() => new RegExp(pattern)).not.toThrow();
    }
  });

  it("matches every annotation in the tree, each manager matches something, every datasource exists", async () => {
    const copy = await copyRepository({ git: true });
    copies.push(copy);
    const { problems, matched } = await annotationProblems(copy.dir);
    expect(problems, problems.join("\n")).toEqual([]);
    expect(matched).toBeGreaterThan(30);
  });

  it("reports an unknown datasource and an annotation no manager matches, at their file and line", async () => {
    const copy = await copyRepository({ git: true });
    copies.push(copy);
    const velero = join(copy.dir, "kubernetes/infrastructure/velero.yaml");
    const lines = readFileSync(velero, "utf8").split("\n");
    const chart = lines.findIndex((l) => l.includes("# renovate: datasource=helm depName=velero"));
    expect(chart).toBeGreaterThan(0);
    lines[chart] = (lines[chart] ?? "").replace("datasource=helm", "datasource=helmm");
    writeFileSync(velero, lines.join("\n"));
    const tools = join(copy.dir, "tools/versions.yaml");
    const toolLines = readFileSync(tools, "utf8").split("\n");
    const bins = toolLines.findIndex((l) => l.trim() === "bins: [yamllint]");
    toolLines.splice(bins, 0, "    # renovate: datasource=pypi depName=yamllint");
    writeFileSync(tools, toolLines.join("\n"));
    commitAll(copy.dir);
    const { problems } = await annotationProblems(copy.dir);
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^kubernetes/infrastructure/velero\\.yaml:${chart + 1}: unknown datasource "helmm" for velero`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^tools/versions\\.yaml:${bins + 1}: no custom manager of renovate\\.json matches this annotation`,
        ),
      ),
    ]);
  });
});
