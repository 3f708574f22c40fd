/**
 * docs/errors.md lists every InfraError code src/ can throw, with the exit code its kind gives, and
 * nothing that src/ no longer has. Failure messages say exactly which row to add, fix or remove.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { type ThrowSite, thrownCodes } from "../helpers/error-codes.js";
import { repoFiles } from "../helpers/tools.js";

const DOC = "docs/errors.md";
const ROW = /^\| `([A-Z][A-Z0-9_]*)` \| ([0-9, ]+) \| (.+) \|$/;

const sources = repoFiles(["src/*.ts"]).filter((f) => !f.endsWith(".d.ts"));
const thrown = thrownCodes(PACKAGE_ROOT, sources);
const docText = readFileSync(join(PACKAGE_ROOT, DOC), "utf8");
const documented = new Map<string, { exits: number[]; line: number }>();
docText.split("\n").forEach((text, index) => {
  const row = ROW.exec(text);
  if (row?.[1] && row[2]) {
    const exits = row[2].split(",").map((e) => Number(e.trim()));
    documented.set(row[1], { exits, line: index + 1 });
  }
});

const exitsOf = (sites: ThrowSite[]) =>
  [...new Set(sites.flatMap((s) => s.exitCodes ?? []))].sort((a, b) => a - b);
const where = (sites: ThrowSite[]) => sites.map((s) => `${s.file}:${s.line}`).join(", ");

describe(DOC, () => {
  it("the reader finds the codes src/ throws", () => {
    // a parser that silently found nothing would make the checks below vacuous
    expect(thrown.size).toBeGreaterThan(50);
    expect(thrown.get("CONFIG_INVALID")?.[0]?.exitCodes).toEqual([2]);
    expect(exitsOf(thrown.get("HOST_UNREACHABLE") ?? [])).toEqual([1, 3]);
    expect(documented.size).toBeGreaterThan(50);
  });

  it("has a row for every code src/ throws", () => {
    const missing = [...thrown]
      .filter(([code]) => !documented.has(code))
      .map(
        ([code, sites]) =>
          `${DOC} has no row for ${code} (thrown at ${where(sites)}); add, in alphabetical order:\n` +
          `| \`${code}\` | ${exitsOf(sites).join(", ") || "<exit code>"} | <what went wrong, in a few words> |`,
      );
    expect(missing, missing.join("\n")).toEqual([]);
  });

  it("gives each code the exit codes its kind gives in src/", () => {
    const wrong: string[] = [];
    for (const [code, sites] of thrown) {
      const row = documented.get(code);
      const exits = exitsOf(sites);
      // a site that passes on another error's kind adds no exit code of its own
      if (!row || exits.length === 0) continue;
      if (row.exits.join(",") !== exits.join(",")) {
        wrong.push(
          `${DOC}:${row.line}: ${code} says exit ${row.exits.join(", ")}, but src/ throws it with exit ${exits.join(", ")} (${where(sites)}); write \`${exits.join(", ")}\``,
        );
      }
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
  });

  it("lists no code that src/ no longer has", () => {
    const code = sources.map((f) => readFileSync(join(PACKAGE_ROOT, f), "utf8")).join("\n");
    const stale = [...documented]
      .filter(([name]) => !code.includes(`"${name}"`))
      .map(([name, row]) => `${DOC}:${row.line}: ${name} appears nowhere in src/; remove the row`);
    expect(stale, stale.join("\n")).toEqual([]);
  });
});
