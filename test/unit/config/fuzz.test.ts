/**
 * Property: whatever an operator (or a cat on the keyboard) does to a valid cluster.yaml, loading it
 * ends in "exit 0" (a config) or "exit 2 with a located message" (config errors, each naming the
 * file and a line) — never an exception, never a message with `undefined` or a runaway echo.
 * Seeds: the example and the anchored fixture; a modest run count (the machine is shared).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configError, validateConfigText } from "../../../src/config/load.js";
import { ExitCode } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { runCli } from "../../helpers/cli.js";

const seeds = [
  readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8"),
  readFileSync(
    join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers-anchors.yaml"),
    "utf8",
  ),
];

/** Values a hostile or careless edit puts after a key. */
const nastyValue = fc.oneof(
  fc.constantFrom(
    "*server",
    "*nowhere",
    "&dup x",
    "{ <<: *server }",
    "[",
    "{",
    "]",
    "---",
    "...",
    "~",
    "null",
    "''",
    ".nan",
    "-.inf",
    "0x1F",
    "1e999",
    "9007199254740993",
    "!!binary AAAA",
    "!custom x",
    "|",
    ">-",
    '"\\u0000"',
    "[[[[[[[[",
    "{a: [b, {c: d}]}",
    "? [a]",
    "mailto:ops@acme.io",
    "0 25 * * *",
    "@every 0s",
    "v9.9.9+k3s1",
    "node-role.kubernetes.io/worker",
    "100.100.100.100",
    "2001:db8::1",
    "~/.ssh/id_ed25519.pub",
    "\t",
    "\ufeff",
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.nat({ max: 5 }).map((n) => "x".repeat(10 ** n)),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("swap" as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant("indent" as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant("value" as const), at: fc.nat(), value: nastyValue }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: nastyValue }),
  fc.record({
    kind: fc.constant("char" as const),
    at: fc.nat(),
    char: fc.constantFrom(..."-:[]{}&*!|>'\"#%@`,?\t\r\u0000\u0085\ufeff\u2028 "),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(text: string, mutations: Mutation[]): string {
  let lines = text.split("\n");
  for (const m of mutations) {
    const i = lines.length === 0 ? 0 : m.at % lines.length;
    const line = lines[i] ?? "";
    switch (m.kind) {
      case "delete":
        lines.splice(i, 1);
        break;
      case "duplicate":
        lines.splice(i, 0, line);
        break;
      case "swap": {
        const j = lines.length === 0 ? 0 : m.other % lines.length;
        [lines[i], lines[j]] = [lines[j] ?? "", line];
        break;
      }
      case "indent":
        lines[i] =
          m.by >= 0 ? `${" ".repeat(m.by)}${line}` : line.slice(Math.min(-m.by, line.search(/\S|$/)));
        break;
      case "value": {
        const colon = line.indexOf(": ");
        lines[i] = colon === -1 ? `${line} ${m.value}` : `${line.slice(0, colon + 2)}${m.value}`;
        break;
      }
      case "insert":
        lines.splice(i, 0, m.value);
        break;
      case "char": {
        const at = line.length === 0 ? 0 : m.at % line.length;
        lines[i] = `${line.slice(0, at)}${m.char}${line.slice(at)}`;
        break;
      }
      case "truncate":
        lines = lines.slice(0, i);
        break;
    }
  }
  return lines.join("\n");
}

describe("any mutation of a valid cluster.yaml", () => {
  it("loads (exit 0) or fails with located config errors (exit 2), never throws", {
    timeout: 120_000,
  }, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (seed, edits) => {
          const text = apply(seed, edits);
          const { config, problems } = validateConfigText(text, "cluster.yaml");
          const errors = problems.filter((p) => p.severity === "error");
          for (const problem of problems) {
            expect(problem.location.file).toBe("cluster.yaml");
            expect(problem.location.line).toBeGreaterThanOrEqual(1);
            expect(problem.location.column).toBeGreaterThanOrEqual(1);
            expect(problem.message).not.toMatch(/\bundefined\b|\bNaN\b|\[object/);
            expect(problem.message.length).toBeLessThan(600);
            expect(problem.hint).toBeTruthy();
          }
          if (errors.length === 0) {
            expect(config).toBeDefined(); // exit 0
          } else {
            expect(configError("cluster.yaml", problems).exitCode).toBe(ExitCode.config); // exit 2
          }
        },
      ),
      { numRuns: 250 },
    );
  });
});

describe("the same through the built CLI (a few runs: each starts a process)", () => {
  it("`infra plan` exits 0, or 2 with every problem at file:line:column, never a stack trace", {
    timeout: 300_000,
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "infra-fuzz-"));
    try {
      fc.assert(
        fc.property(
          fc.constantFrom(...seeds),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          (seed, edits) => {
            const file = join(dir, "cluster.yaml");
            writeFileSync(file, apply(seed, edits));
            const { code, stderr } = runCli(["plan", "--config", file], { cwd: dir });
            expect([0, 2], stderr).toContain(code);
            expect(stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
            if (code === 2) {
              const located = stderr.split("\n").filter((line) => /^\s*✗ /.test(line));
              expect(located.length).toBeGreaterThan(0);
              // The summary line names the file; every problem line names file:line:column.
              for (const line of located) expect(line).toMatch(/✗ cluster\.yaml(:\d+:\d+)?[: ]/);
              expect(located.some((line) => /cluster\.yaml:\d+:\d+/.test(line))).toBe(true);
            }
          },
        ),
        { numRuns: 12 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
