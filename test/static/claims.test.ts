/**
 * The table "What each claim rests on" in docs/testing.md: every capability the docs call tested
 * names a test file that exists and a test in it of that name, and says what the test does not show.
 * The README and docs/toolchain.md make no stronger claims than that table (phrases that once
 * over-claimed are refused).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";

const DOC = "docs/testing.md";
const HEADING = "## What each claim rests on";
const read = (file: string) => readFileSync(join(PACKAGE_ROOT, file), "utf8");

interface Claim {
  line: number;
  capability: string;
  file: string;
  test: string;
  limits: string;
}

/** The table's rows: `| capability | \`file\` "test name" | not shown there |`. */
function claims(): Claim[] {
  const lines = read(DOC).split("\n");
  const start = lines.indexOf(HEADING);
  if (start < 0) throw new Error(`${DOC} has no "${HEADING}" section`);
  const rows: Claim[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]?.startsWith("## "); i++) {
    const cells = (lines[i] ?? "").split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.length < 5 || /^-+$/.test(cells[1] ?? "") || cells[1] === "capability") continue;
    const shown = /^`([^`]+)` "(.+)"$/.exec(cells[2] ?? "");
    rows.push({
      line: i + 1,
      capability: cells[1] ?? "",
      file: shown?.[1] ?? "",
      test: shown?.[2] ?? "",
      limits: cells[3] ?? "",
    });
  }
  return rows;
}

describe(`${DOC}: what each claim rests on`, () => {
  const rows = claims();

  it("has a row for each tier's main claims", () => {
    expect(rows.length).toBeGreaterThan(15);
    for (const tier of ["unit", "static", "controlplane", "hosts"])
      expect(
        rows.some((r) => r.file.startsWith(`test/${tier}/`)),
        tier,
      ).toBe(true);
  });

  it("names, for every claim, a test file that exists and a test of that name in it", () => {
    const problems: string[] = [];
    for (const row of rows) {
      if (!row.file || !row.test) {
        problems.push(`${DOC}:${row.line}: write the test as \`test/<tier>/<file>.test.ts\` "<test name>"`);
        continue;
      }
      if (!existsSync(join(PACKAGE_ROOT, row.file))) {
        problems.push(`${DOC}:${row.line}: ${row.file} does not exist (the claim "${row.capability}")`);
        continue;
      }
      // the name as a string literal in an it()/test() call, single-line or wrapped
      const source = read(row.file);
      const literal = JSON.stringify(row.test).slice(1, -1);
      if (!new RegExp(`\\b(it|test)\\(\\s*["'\`]${escapeRegExp(literal)}["'\`]`).test(source)) {
        problems.push(`${DOC}:${row.line}: ${row.file} has no test named "${row.test}"`);
      }
      if (!row.limits) problems.push(`${DOC}:${row.line}: say what the test does not show, or "—"`);
    }
    expect(problems, problems.join("\n")).toEqual([]);
  });

  it("the README and docs/toolchain.md claim no more than the table", () => {
    const overClaims: [string, RegExp][] = [
      ["README.md", /runs the real playbooks/],
      ["docs/toolchain.md", /supported and tested/],
      [DOC, /restore-workload, failover, node-recovery and status/],
    ];
    for (const [file, phrase] of overClaims) expect(read(file), `${file}: ${phrase}`).not.toMatch(phrase);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
