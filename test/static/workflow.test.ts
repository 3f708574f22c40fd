/**
 * .github/workflows/ci.yml: actionlint (pinned, with its shellcheck integration on the `run:` scripts)
 * reports nothing; the workflow runs `.ci/run` as root and hands the files back, caches the tool cache
 * by the pins, and pins every action by commit; a syntax error is reported at its file and line.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { repoFiles, runTool } from "../helpers/tools.js";

const WORKFLOW = ".github/workflows/ci.yml";
const text = readFileSync(join(PACKAGE_ROOT, WORKFLOW), "utf8");

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}

describe(WORKFLOW, () => {
  it("actionlint reports zero findings on every workflow, shellcheck included", () => {
    const workflows = repoFiles([".github/workflows/*.yml", ".github/workflows/*.yaml"]);
    expect(workflows).toContain(WORKFLOW);
    const { code, output } = runTool("actionlint", ["-no-color", "-oneline", "-verbose", ...workflows]);
    // the shellcheck rule runs only when shellcheck is found: a silent skip would hide findings
    expect(output).not.toMatch(/Rule "shellcheck" was disabled/);
    const findings = output.split("\n").filter((line) => !line.startsWith("verbose:") && line.trim());
    expect(findings, findings.join("\n")).toEqual([]);
    expect(code).toBe(0);
  });

  it("reports a workflow with a syntax error at its file and line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "infra-k3s-workflow-"));
    try {
      await mkdir(join(dir, ".github", "workflows"), { recursive: true });
      const lines = text.split("\n");
      const at = lines.findIndex((l) => l.startsWith("concurrency:"));
      // a mapping value where YAML allows none (a colon inside a plain scalar)
      lines.splice(at, 0, "env: CI: true");
      const broken = join(dir, WORKFLOW);
      writeFileSync(broken, lines.join("\n"));
      const { code, output } = runTool("actionlint", ["-no-color", "-oneline", broken], { cwd: dir });
      expect(code, output).toBe(1);
      expect(output).toMatch(new RegExp(`ci\\.yml:${at + 1}:\\d+: `));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("runs .ci/run as root, hands root's files back, caches the tools by their pins, and has limits", () => {
    const workflow = parse(text) as {
      concurrency?: { group?: string };
      jobs: Record<string, { "timeout-minutes"?: number; steps: Step[] }>;
    };
    expect(workflow.concurrency?.group).toContain("github.ref");
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job["timeout-minutes"], `${name}: timeout-minutes`).toBeLessThanOrEqual(90);
      const runs = job.steps.map((s) => s.run ?? "");
      expect(runs.some((r) => /^sudo .*bash \.ci\/run$/.test(r.trim()))).toBe(true);
      const chown = job.steps.find((s) => s.run?.includes("chown"));
      expect(chown?.if, "the chown runs after a failure too").toBe("always()");
      const cache = job.steps.find((s) => s.uses?.startsWith("actions/cache@"));
      expect(String(cache?.with?.key)).toContain("hashFiles('tools/versions.yaml')");
      expect(String(cache?.with?.path)).toContain("~/.cache/infra-k3s");
    }
  });

  it("pins every action by a full commit, with its tag in a comment", () => {
    const uses = text.split("\n").filter((line) => /^\s*-?\s*uses:/.test(line));
    expect(uses.length).toBeGreaterThan(2);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
  });
});
