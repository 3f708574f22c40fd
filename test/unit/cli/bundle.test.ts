/**
 * The built CLI is an esbuild bundle (build.mjs): dist/bin.js and a chunk per lazily loaded command body.
 * A dependency whose entry point requires its own files at run time (a UMD build) bundles without error but
 * fails only when the command that uses it runs; every chunk is loaded here, so it fails in this test.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/package-root.js";

describe("the bundled CLI (dist/)", () => {
  it("loads every chunk: no dependency is left to resolve from dist/ at run time", () => {
    const dist = join(PACKAGE_ROOT, "dist");
    // bin.js runs the CLI when loaded; the chunks only define what the commands import.
    const chunks = readdirSync(dist).filter((file) => file.endsWith(".js") && file !== "bin.js");
    expect(chunks.length).toBeGreaterThan(5);
    const urls = chunks.map((file) => pathToFileURL(join(dist, file)).href);
    const script = `for (const url of ${JSON.stringify(urls)}) await import(url);`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: PACKAGE_ROOT,
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
