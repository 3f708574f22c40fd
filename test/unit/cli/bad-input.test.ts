/**
 * The bad inputs through the built CLI: each gives a one-line cause and a next step,
 * exit 2 (usage/config), never a stack trace, and writes nothing.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";

let dir: string;
let home: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "infra-bad-input-"));
  home = mkdtempSync(join(tmpdir(), "infra-bad-input-home-"));
  mkdirSync(join(dir, "a-directory"));
  writeFileSync(
    join(dir, "no-current-context.kubeconfig"),
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
      "users: [{name: u, user: {token: t}}]",
      "contexts: [{name: admin@c, context: {cluster: c, user: u}}]",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "broken.kubeconfig"), "clusters: [unclosed\n");
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

const cases: { name: string; args: string[]; cause: RegExp; next: RegExp }[] = [
  {
    name: "unknown command",
    args: ["upgarde"],
    cause: /unknown command 'upgarde' \(did you mean 'upgrade'\?\)/,
    next: /infra --help/,
  },
  {
    name: "unknown command with --help",
    args: ["upgarde", "--help"],
    cause: /unknown command 'upgarde' \(did you mean 'upgrade'\?\)/,
    next: /infra --help/,
  },
  {
    name: "unknown subcommand with --help",
    args: ["backup", "lst", "--help"],
    cause: /unknown command 'backup lst' \(did you mean 'backup list'\?\)/,
    next: /infra backup --help/,
  },
  {
    name: "--config naming a directory",
    args: ["plan", "--config", "a-directory"],
    cause: /is a directory/,
    next: /name the cluster.yaml file itself/,
  },
  {
    name: "--config naming a missing file",
    args: ["plan", "--config", "nope.yaml"],
    cause: /nope\.yaml does not exist/,
    next: /check the path/,
  },
  {
    name: "--kubeconfig naming a missing file",
    args: ["status", "--kubeconfig", "nope.kubeconfig"],
    cause: /no kubeconfig at .*nope\.kubeconfig \(from --kubeconfig\)/,
    next: /pass one with --kubeconfig/,
  },
  {
    name: "--kubeconfig naming a directory",
    args: ["backup", "list", "--kubeconfig", "a-directory"],
    cause: /is a directory, not a file/,
    next: /name the kubeconfig file itself/,
  },
  {
    name: "a kubeconfig that is not YAML",
    args: ["status", "--kubeconfig", "broken.kubeconfig"],
    cause: /is not valid YAML/,
    next: /apiVersion: v1, kind: Config/,
  },
  {
    name: "a kubeconfig with no current context",
    args: ["status", "--kubeconfig", "no-current-context.kubeconfig"],
    cause: /has no current context/,
    next: /--context: admin@c/,
  },
  {
    name: "an unknown --context",
    args: ["backup", "list", "--kubeconfig", "no-current-context.kubeconfig", "--context", "admin@d"],
    cause: /has no context "admin@d" \(did you mean "admin@c"\?\)/,
    next: /--context: admin@c/,
  },
  {
    name: "--request-timeout 0",
    args: ["status", "--kubeconfig", "no-current-context.kubeconfig", "--request-timeout", "0"],
    cause: /--request-timeout 0 is too short/,
    next: /30s/,
  },
  {
    name: "--request-timeout abc",
    args: ["status", "--kubeconfig", "no-current-context.kubeconfig", "--request-timeout", "abc"],
    cause: /"abc" is not a duration/,
    next: /Go duration/,
  },
  {
    name: "--request-timeout 99999h",
    args: ["status", "--kubeconfig", "no-current-context.kubeconfig", "--request-timeout", "99999h"],
    cause: /--request-timeout 99999h is too long/,
    next: /30s/,
  },
  {
    name: "an unknown shell",
    args: ["completion", "tcsh"],
    cause: /no completion for the shell "tcsh"/,
    next: /bash, zsh, fish/,
  },
  {
    name: "-o with an unknown format",
    args: ["plan", "-o", "xml"],
    cause: /argument 'xml' is invalid/,
    next: /json, yaml|"json", "yaml"/,
  },
];

describe("bad input (built CLI)", () => {
  it.each(cases)(
    "$name: one-line cause, next step, exit 2, no stack, nothing written",
    ({ args, cause, next }) => {
      const before = readdirSync(dir).sort();
      const { code, stdout, stderr } = runCli(args, { cwd: dir, env: { HOME: home, KUBECONFIG: "" } });
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(cause);
      expect(stderr).toMatch(next);
      expect(stderr).not.toMatch(/\n\s+at |internal error/);
      expect(stdout).toBe("");
      expect(readdirSync(dir).sort()).toEqual(before);
      expect(readdirSync(home)).toEqual([]);
    },
  );

  it("-o json prints the error as data on stdout", () => {
    const { code, stdout } = runCli(["plan", "-o", "json", "--config", "nope.yaml"], { cwd: dir });
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, error: { code: "CONFIG_NOT_FOUND" } });
  });

  it("-o yaml prints the same data as --json, as YAML", async () => {
    const { parse: load } = await import("yaml");
    const env = { INFRA_CACHE_DIR: home };
    const json = runCli(["doctor", "--json"], { env });
    const yaml = runCli(["doctor", "-o", "yaml"], { env });
    expect(yaml.code).toBe(json.code);
    expect(load(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });
});
