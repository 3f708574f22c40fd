/**
 * Golden files: committed expected outputs that a test compares byte for byte. A test run never
 * writes one. `npm run golden:update` (vitest in the `golden-update` mode, see vitest.config.ts) is
 * the only way to create or rewrite them; its diff is then reviewed like any other change.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import { inject } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";

export const GOLDEN_UPDATE_COMMAND = "npm run golden:update";

declare module "vitest" {
  export interface ProvidedContext {
    /** True only under `npm run golden:update` (vitest's `--mode golden-update`). */
    goldenUpdate: boolean;
  }
}

/** The 1-based line of the first difference between two texts. */
export function firstDifferentLine(expected: string, actual: string): number {
  const a = expected.split("\n");
  const b = actual.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i + 1;
  return 1;
}

/**
 * Compares `actual` with the golden file at `path` (absolute). A missing golden fails with the
 * command that creates it; a different one fails naming the file and the first differing line.
 */
export function expectGolden(actual: string, path: string): void {
  const shown = relative(PACKAGE_ROOT, path);
  if (inject("goldenUpdate")) {
    if (!existsSync(path) || readFileSync(path, "utf8") !== actual) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, actual);
      console.log(`golden: wrote ${shown}`);
    }
    return;
  }
  if (!existsSync(path)) {
    throw new Error(
      `golden file ${shown} is missing: create it with \`${GOLDEN_UPDATE_COMMAND}\`, then review and commit it`,
    );
  }
  const golden = readFileSync(path, "utf8");
  if (golden === actual) return;
  const line = firstDifferentLine(golden, actual);
  const want = golden.split("\n")[line - 1];
  const got = actual.split("\n")[line - 1];
  throw new Error(
    `${shown}:${line}: the golden file differs from the output (golden ${JSON.stringify(want)}, ` +
      `output ${JSON.stringify(got)}); if the change is intended, run \`${GOLDEN_UPDATE_COMMAND}\` and commit the diff`,
  );
}
