import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { extractCommands, extractLinks, extractMermaid } from "../helpers/docs.js";
import { parseError } from "../helpers/parser-only.js";
import { repoFiles } from "../helpers/tools.js";

const markdownFiles = repoFiles(["*.md"]).filter(
  (f) => !f.startsWith("node_modules/") && existsSync(join(PACKAGE_ROOT, f)),
);
const read = (file: string) => readFileSync(join(PACKAGE_ROOT, file), "utf8");

describe("documentation", () => {
  it("has the README and docs to check", () => {
    expect(markdownFiles).toEqual(expect.arrayContaining(["README.md", "docs/testing.md"]));
  });

  it("every `infra ...` command it shows parses with the real CLI", async () => {
    const failures: string[] = [];
    let count = 0;
    for (const file of markdownFiles) {
      for (const command of extractCommands(file, read(file))) {
        for (const argv of command.variants) {
          count++;
          const error = await parseError(argv);
          // A name in prose may leave out arguments or name a group; unknown commands and flags still fail.
          const incomplete = error && /missing required argument|\(outputHelp\)/.test(error);
          if (error && !(command.inline && incomplete))
            failures.push(
              `${command.file}:${command.line}: \`${command.source}\` → infra ${argv.join(" ")}: ${error}`,
            );
        }
      }
    }
    expect(count).toBeGreaterThan(10);
    expect(failures, failures.join("\n")).toEqual([]);
  });

  it("the command checker rejects what the CLI rejects", async () => {
    expect(await parseError(["plan"])).toBeUndefined();
    expect(await parseError(["frobnicate"])).toMatch(/unknown command/);
    expect(await parseError(["backup", "create", "--no-such-flag"])).toMatch(/unknown option/);
    expect(await parseError(["node", "add"])).toMatch(/missing required argument/);
  });

  it("every relative link resolves to a file in the repository", () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      for (const link of extractLinks(file, read(file))) {
        const path = link.target.split("#")[0] ?? "";
        if (path && !existsSync(join(PACKAGE_ROOT, dirname(file), decodeURIComponent(path)))) {
          broken.push(`${link.file}:${link.line}: ${link.target}`);
        }
      }
    }
    expect(broken, broken.join("\n")).toEqual([]);
  });

  it("every document the code cites exists in the repository", () => {
    // a path under a top-level folder, or a root document in capitals (README.md, CONTRIBUTING.md)
    const citation = /(?<![\w./-])((?:(?:docs|ansible|kubernetes|tofu|test)\/[\w./-]+)|[A-Z][A-Z_]+)\.md\b/g;
    const code = repoFiles(["src/*", "test/*", "bench/*", "tools/*", "*.ts", ".ci/*", "infra", ".github/*"])
      // the Markdown extractor's own tests cite made-up documents on purpose
      .filter((f) => f !== "test/unit/docs-extract.test.ts" && !f.startsWith("test/fixtures/"))
      .filter((f) => existsSync(join(PACKAGE_ROOT, f)));
    const missing: string[] = [];
    for (const file of code) {
      read(file)
        .split("\n")
        .forEach((text, index) => {
          for (const match of text.matchAll(citation)) {
            const doc = `${match[1]}.md`;
            if (!existsSync(join(PACKAGE_ROOT, doc))) missing.push(`${file}:${index + 1}: cites ${doc}`);
          }
        });
    }
    expect(code.length).toBeGreaterThan(100);
    expect(missing, missing.join("\n")).toEqual([]);
  });

  it("every Mermaid block parses", async () => {
    const { JSDOM } = await import("jsdom");
    const dom = new JSDOM("<!doctype html><html><body></body></html>");
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    const { default: mermaid } = await import("mermaid");
    const failures: string[] = [];
    let count = 0;
    for (const file of markdownFiles) {
      for (const block of extractMermaid(file, read(file))) {
        count++;
        try {
          await mermaid.parse(block.text);
        } catch (error) {
          failures.push(
            `${block.file}:${block.line}: ${(error as Error).message.split("\n").slice(0, 3).join(" ")}`,
          );
        }
      }
    }
    expect(count).toBeGreaterThan(0);
    expect(failures, failures.join("\n")).toEqual([]);
  });

  it("every runbook has Prerequisites, Steps, Verification and Rollback, in that order", () => {
    const runbooks = markdownFiles.filter((f) => f.startsWith("docs/runbooks/"));
    expect(runbooks.map((f) => f.replace(/^.*\//, ""))).toEqual(
      expect.arrayContaining([
        "add-node.md",
        "remove-node.md",
        "upgrade-k3s.md",
        "restore-service.md",
        "rotate-secrets.md",
        "recover-server.md",
      ]),
    );
    for (const file of runbooks) {
      const headings = read(file)
        .split("\n")
        .filter((l) => /^## /.test(l))
        .map((l) => l.slice(3).trim());
      const wanted = ["Prerequisites", "Steps", "Verification", "Rollback"];
      expect(
        headings.filter((h) => wanted.includes(h)),
        file,
      ).toEqual(wanted);
    }
  });

  it("passes markdownlint", async () => {
    const { lint } = await import("markdownlint/promise");
    const config = JSON.parse(read(".markdownlint.json")) as Record<string, unknown>;
    const results = await lint({ files: markdownFiles.map((f) => join(PACKAGE_ROOT, f)), config });
    const text = results.toString();
    expect(text, text).toBe("");
  });
});
