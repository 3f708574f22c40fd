import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DECLARATIONS } from "../../../src/cli.js";
import type { CommandDeclaration } from "../../../src/command-declaration.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { commandVariants } from "../../helpers/docs.js";
import { parseError } from "../../helpers/parser-only.js";

const leaves: { path: string; declaration: CommandDeclaration }[] = DECLARATIONS.flatMap((d) =>
  d.kind === "command"
    ? [{ path: d.name, declaration: d }]
    : d.commands.map((c) => ({ path: `${d.name} ${c.name}`, declaration: c })),
);

describe("command declarations (src/<slice>/commands.ts)", () => {
  it("every command has examples, and each example parses with the real CLI", async () => {
    const failures: string[] = [];
    for (const { path, declaration } of leaves) {
      if (declaration.examples.length === 0) failures.push(`${path}: no example`);
      for (const example of declaration.examples) {
        if (!example.startsWith(`infra ${path}`))
          failures.push(`${path}: example "${example}" is another command`);
        for (const argv of commandVariants(example)) {
          const error = await parseError(argv);
          if (error) failures.push(`${path}: "${example}": ${error}`);
        }
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
  });

  it("a commands.ts imports only declarations and types, so `infra --help` loads no command body", () => {
    const src = join(PACKAGE_ROOT, "src");
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith("commands.ts"),
    );
    expect(files.length).toBeGreaterThanOrEqual(12);
    const allowed =
      /^(\.\.\/command-declaration\.js|\.\.\/kube\/access-options\.js|\.\.\/[a-z-]+\/commands\.js)$/;
    const offending: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(src, file), "utf8");
      for (const match of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
        if (!match[1] && !allowed.test(match[2] ?? "")) offending.push(`${file}: ${match[2]}`);
      }
    }
    expect(offending, offending.join("\n")).toEqual([]);
  });
});
