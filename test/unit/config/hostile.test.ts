/**
 * The nasty inputs of issue 15: each ends in one located line, exit 2 and nothing written, never a
 * stack trace. In-process for what the text holds; through the built CLI for what the path names
 * (directories, FIFOs, binary and oversized files).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfigText } from "../../../src/config/load.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { runCli } from "../../helpers/cli.js";
import { INIT_ARGS } from "../../helpers/init-args.js";

const example = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
const solo = readFileSync(
  join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "single-node.yaml"),
  "utf8",
);

/** The one error a document-level problem gives: code, position and exact words. */
function only(text: string) {
  const { config, problems } = validateConfigText(text, "c.yaml");
  expect(config).toBeUndefined();
  expect(problems).toHaveLength(1);
  const [problem] = problems;
  return {
    code: problem?.code,
    at: `${problem?.location.line}:${problem?.location.column}`,
    message: problem?.message,
  };
}

describe("hostile text", () => {
  it("an alias bomb many levels deep is refused at its biggest alias, in linear time", () => {
    const levels = Array.from({ length: 30 }, (_, i) =>
      i === 0 ? "a0: &a0 [lol, lol]" : `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}]`,
    );
    expect(only(`${levels.join("\n")}\n`)).toEqual({
      code: "CONFIG_YAML_ALIAS",
      at: "30:12",
      message:
        "aliases expand the file to more than 250,000 values (*a28 alone repeats 80,068,773,592,363 values): an alias bomb, not a cluster",
    });
  });

  it("the fixture's ten-billion-value bomb too", () => {
    const text = readFileSync(join(PACKAGE_ROOT, "test/fixtures/config/invalid/alias-bomb.yaml"), "utf8");
    expect(only(text).code).toBe("CONFIG_YAML_ALIAS");
  });

  it("a 3 MB value is echoed cut to 60 characters with its length", () => {
    const text = solo.replace("email: admin@example.net", `email: ${"x".repeat(3_000_000)}@example.net`);
    const { problems } = validateConfigText(text, "c.yaml");
    expect(problems.map((p) => p.message)).toEqual([
      `"${"x".repeat(60)}…" (3,000,012 characters) is not an e-mail address Let's Encrypt accepts: the part before the @ is longer than 64 characters`,
    ]);
  });

  it("a huge key is refused as YAML, not echoed", () => {
    const result = only(`${"k".repeat(2000)}: 1\n`);
    expect(result.code).toBe("CONFIG_YAML_SYNTAX");
    expect(result.message?.length).toBeLessThan(250);
  });

  it.each([
    ["200,000 nested brackets", `a: ${"[".repeat(200_000)}${"]".repeat(200_000)}\n`, "1:67"],
    ["200,000 list markers on a line", `${"- ".repeat(200_000)}x\n`, "1:128"],
  ])("%s are refused before the reader recurses", (_name, text, at) => {
    expect(only(text)).toEqual({
      code: "CONFIG_TOO_DEEP",
      at,
      message: "values nest more than 64 levels deep here; a cluster.yaml needs about 6",
    });
  });

  it.each([
    ["closing brackets hidden in quotes", `a: ${'[ "]", '.repeat(50_000)}\n`, "CONFIG_TOO_DEEP"],
    ["brackets after plain text", `a: ${"[a".repeat(50_000)}\n`, "CONFIG_TOO_DEEP"],
    ["mappings in mappings", `a: ${"{b: ".repeat(50_000)}\n`, "CONFIG_TOO_DEEP"],
    // The reader ends the list at the first unindented line: an error, and no nesting.
    ["a flow list continued on unindented lines", `a: [\n${"x, [\n".repeat(50_000)}`, "CONFIG_YAML_SYNTAX"],
  ])("%s: measured as the reader nests, not guessed from the text", (_name, text, code) => {
    expect(only(text).code).toBe(code);
  });

  it("deep indentation is refused too", () => {
    const text = `${Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n")} 1\n`;
    expect(only(text).code).toBe("CONFIG_TOO_DEEP");
  });

  it.each([
    [
      "a NUL byte",
      "version: 1\nname: a\u0000b\n",
      "2:8",
      "the file holds binary data (a NUL byte), not YAML text",
    ],
    [
      "a control character",
      "version: 1\nname: \u0007\n",
      "2:7",
      "the file holds a control character (U+0007) that YAML text cannot contain",
    ],
  ])("%s", (_name, text, at, message) => {
    expect(only(text)).toEqual({ code: "CONFIG_NOT_TEXT", at, message });
  });

  it("a byte order mark and CRLF line ends read like any other file", () => {
    const plain = validateConfigText(example, "c.yaml");
    const crlf = validateConfigText(`\ufeff${example.replace(/\n/g, "\r\n")}`, "c.yaml");
    expect(crlf.config).toEqual(plain.config);
    expect(crlf.problems).toEqual(plain.problems);
  });

  it.each([
    ["an empty file", "", "CONFIG_EMPTY", "the file has no settings (it is empty or only comments)"],
    ["only blanks", "  \n\n\t\n", "CONFIG_EMPTY", "the file has no settings (it is empty or only comments)"],
    [
      "only comments",
      "# nothing\n",
      "CONFIG_EMPTY",
      "the file has no settings (it is empty or only comments)",
    ],
    ["a lone ---", "---\n", "CONFIG_EMPTY", "the file has no settings (it is empty or only comments)"],
    [
      "null",
      "null\n",
      "CONFIG_NOT_A_MAPPING",
      "the file holds nothing (an empty value), not the mapping of settings (key: value lines) a cluster.yaml is",
    ],
    [
      "~",
      "~\n",
      "CONFIG_NOT_A_MAPPING",
      "the file holds nothing (an empty value), not the mapping of settings (key: value lines) a cluster.yaml is",
    ],
    [
      "a number",
      "42\n",
      "CONFIG_NOT_A_MAPPING",
      "the file holds the number 42, not the mapping of settings (key: value lines) a cluster.yaml is",
    ],
    [
      "text",
      "hello\n",
      "CONFIG_NOT_A_MAPPING",
      "the file holds text, not the mapping of settings (key: value lines) a cluster.yaml is",
    ],
  ])("%s", (_name, text, code, message) => {
    expect(only(text)).toMatchObject({ code, message });
  });

  it("several documents are told what to do in this project's terms", () => {
    expect(only(`${solo}---\n${solo}`)).toEqual({
      code: "CONFIG_MULTIPLE_DOCUMENTS",
      at: "23:1",
      message: "the file holds 2 YAML documents (separated by ---); a cluster.yaml describes one cluster",
    });
    // A trailing --- with nothing after it is one document.
    expect(validateConfigText(`${solo}---\n`, "c.yaml").config).toBeDefined();
  });

  it.each([
    ["an unknown tag", "version: !custom 1\n", "the YAML tag !custom is not supported here"],
    ["a binary tag", "version: !!binary AAAA\n", "the YAML tag !!binary is not supported here"],
    ["a list as a key", "? [a, b]\n: c\n", "a key must be plain text, not a list or a mapping"],
    ["an alias with no anchor", "a: *nowhere\n", "the alias *nowhere has no anchor &nowhere before it"],
    ["an alias inside its anchor", "a: &x [1, *x]\n", "the alias *x is inside the value it refers to"],
    [
      "a merge of text",
      "a:\n  <<: text\n",
      "a merge key (<<) takes a mapping, an alias of one, or a list of those",
    ],
    ["tabs as indentation", "a:\n\tb: 1\n", "YAML syntax error: Tabs are not allowed as indentation"],
    ["an unclosed quote", 'a: "b\n', 'YAML syntax error: Missing closing "quote'],
  ])("%s", (_name, text, message) => {
    expect(only(text).message).toBe(message);
  });

  it("a __proto__ key is an unknown key, not a prototype", () => {
    const { problems } = validateConfigText(`${solo}__proto__: {polluted: true}\n`, "c.yaml");
    expect(problems.filter((p) => p.severity === "error").map((p) => [p.code, p.message])).toEqual([
      ["CONFIG_UNKNOWN_KEY", 'unknown key "__proto__"'],
    ]);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("YAML's special numbers are shown as written, not as NaN", () => {
    const { problems } = validateConfigText(
      solo.replace("version: 1", "version: 1\nssh:\n  port: .nan"),
      "c.yaml",
    );
    expect(problems.map((p) => p.message)).toEqual(["expected a number, got the number .nan"]);
  });
});

describe("hostile files through the built CLI: exit 2, one located line, nothing written", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "infra-hostile-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `configure` in a fresh project whose cluster.yaml is made by `make`; returns its stderr. */
  const configure = (make: (project: string) => void, args: string[] = []) => {
    const project = mkdtempSync(join(dir, "project-"));
    make(project);
    const before = readdirSync(project).sort();
    const result = runCli(["configure", ...args], { cwd: project });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe("");
    expect(readdirSync(project).sort()).toEqual(before);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines.filter((line) => line.startsWith("✗ "))).toHaveLength(1);
    return lines.filter((line) => !line.startsWith("using ")).join("\n");
  };

  it("--config naming a directory", () => {
    const stderr = configure((p) => mkdirSync(join(p, "conf")), ["--config", "conf"]);
    expect(stderr).toBe(
      [
        "✗ conf: is a directory, not a config file",
        "hint: name the cluster.yaml file itself (e.g. --config path/to/cluster.yaml), or remove the directory named cluster.yaml",
      ].join("\n"),
    );
  });

  it("a cluster.yaml that is a directory", () => {
    const stderr = configure((p) => mkdirSync(join(p, "cluster.yaml")));
    expect(stderr.split("\n")[0]).toBe("✗ cluster.yaml: is a directory, not a config file");
  });

  it("infra init over a cluster.yaml that is a directory", () => {
    const project = mkdtempSync(join(dir, "init-"));
    mkdirSync(join(project, "cluster.yaml"));
    const result = runCli(INIT_ARGS, { cwd: project, env: { HOME: project, XDG_CONFIG_HOME: "" } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe("✗ cluster.yaml: is a directory, not a config file");
    expect(readdirSync(project)).toEqual(["cluster.yaml"]);
  });

  it("a FIFO (read without waiting for a writer)", () => {
    const stderr = configure((p) => execFileSync("mkfifo", [join(p, "cluster.yaml")]));
    expect(stderr.split("\n")[0]).toBe("✗ cluster.yaml: is a named pipe (FIFO), not a regular file");
  });

  it("binary junk that is not UTF-8", () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    const stderr = configure((p) => writeFileSync(join(p, "cluster.yaml"), junk));
    expect(stderr.split("\n")[0]).toBe("✗ cluster.yaml: is not UTF-8 text (binary data or another encoding)");
  });

  it("UTF-16 text", () => {
    const stderr = configure((p) =>
      writeFileSync(
        join(p, "cluster.yaml"),
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(solo, "utf16le")]),
      ),
    );
    expect(stderr.split("\n")[0]).toBe("✗ cluster.yaml: is UTF-16 text; infra reads UTF-8");
  });

  it("a file far too large to be a cluster.yaml", () => {
    const stderr = configure((p) =>
      writeFileSync(join(p, "cluster.yaml"), `${solo}#${"x".repeat(5 * 1024 * 1024)}\n`),
    );
    expect(stderr.split("\n")[0]).toBe(
      "✗ cluster.yaml: is 5.0 MiB; a cluster.yaml is far smaller (at most 4 MiB)",
    );
  });

  it.each([
    ["empty", "", "✗ cluster.yaml:1:1: the file has no settings (it is empty or only comments)"],
    [
      "null",
      "null\n",
      "✗ cluster.yaml:1:1: the file holds nothing (an empty value), not the mapping of settings (key: value lines) a cluster.yaml is",
    ],
    [
      "an alias bomb",
      readFileSync(join(PACKAGE_ROOT, "test/fixtures/config/invalid/alias-bomb.yaml"), "utf8"),
      "✗ cluster.yaml:10:10: aliases expand the file to more than 250,000 values (*g alone repeats 11,111,111 values): an alias bomb, not a cluster",
    ],
    [
      "two documents",
      `${solo}---\n${solo}`,
      "✗ cluster.yaml:23:1: the file holds 2 YAML documents (separated by ---); a cluster.yaml describes one cluster",
    ],
    [
      "a NUL byte",
      `${solo}\u0000`,
      "✗ cluster.yaml:23:1: the file holds binary data (a NUL byte), not YAML text",
    ],
    [
      "deep nesting",
      `a: ${"[".repeat(100_000)}\n`,
      "✗ cluster.yaml:1:67: values nest more than 64 levels deep here; a cluster.yaml needs about 6",
    ],
  ])("%s", (_name, text, first) => {
    const stderr = configure((p) => writeFileSync(join(p, "cluster.yaml"), text));
    expect(stderr.split("\n")[0]).toBe(first);
    expect(stderr.split("\n")[1]).toMatch(/^hint: /);
  });
});
