/**
 * `infra completion bash|zsh` loaded into the real shells (zsh is pinned in tools/versions.yaml):
 * the shell registers the function, and completing a command line offers the command tree's words.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { runTool } from "../helpers/tools.js";

let dir: string;
const script = (shell: string) => {
  const { code, stdout, stderr } = runCli(["completion", shell]);
  expect(code, stderr).toBe(0);
  const file = join(dir, `infra.${shell}`);
  writeFileSync(file, stdout);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "infra-completion-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash's completion function offers for the words of a command line (the last one being completed). */
function bashComplete(file: string, words: string[]): string[] {
  const program = [
    `source ${file}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    "_infra",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const { code, output } = runTool("bash", ["-c", program]);
  expect(code, output).toBe(0);
  return output.split("\n").filter(Boolean);
}

describe("bash completion", () => {
  it("registers with `complete -p infra`", () => {
    const file = script("bash");
    const { code, output } = runTool("bash", ["-c", `source ${file} && complete -p infra`]);
    expect(code, output).toBe(0);
    expect(output.trim()).toBe("complete -o default -F _infra infra");
  });

  it("offers commands, subcommands, options and option values from the command tree", () => {
    const file = script("bash");
    expect(bashComplete(file, ["infra", ""])).toEqual(
      expect.arrayContaining(["init", "backup", "dr", "status", "completion"]),
    );
    expect(bashComplete(file, ["infra", "ba"])).toEqual(["backup"]);
    expect(bashComplete(file, ["infra", "backup", ""])).toEqual(
      expect.arrayContaining(["create", "list", "describe", "logs", "delete", "restore"]),
    );
    expect(bashComplete(file, ["infra", "backup", "create", "--w"])).toEqual(["--wait"]);
    expect(bashComplete(file, ["infra", "backup", "create", "--req"])).toEqual(["--request-timeout"]);
    expect(bashComplete(file, ["infra", "status", "-o", ""])).toEqual(["json", "yaml"]);
    // global options after a subcommand
    expect(bashComplete(file, ["infra", "dr", "drill", "--verb"])).toEqual(["--verbose"]);
  });
});

describe("zsh completion", () => {
  it("registers _infra for infra with compinit", () => {
    const file = script("zsh");
    const { code, output } = runTool("zsh", [
      "-f",
      "-c",
      `autoload -U compinit && compinit -u -D && source ${file} && print -r -- $_comps[infra] && whence -w _infra`,
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain("_infra\n");
    expect(output).toContain("_infra: function");
  });

  it("installed as _infra on $fpath, compinit picks it up by its #compdef line", () => {
    const file = script("zsh");
    const fpath = join(dir, "zfunc");
    mkdirSync(fpath, { recursive: true });
    copyFileSync(file, join(fpath, "_infra"));
    const { code, output } = runTool("zsh", [
      "-f",
      "-c",
      `fpath=(${fpath} $fpath) && autoload -U compinit && compinit -u -D && print -r -- $_comps[infra]`,
    ]);
    expect(code, output).toBe(0);
    expect(output.trim()).toBe("_infra");
  });

  it("parses without errors and defines the command words", () => {
    const file = script("zsh");
    const { code, output } = runTool("zsh", ["-n", file]);
    expect(code, output).toBe(0);
    expect(output).toBe("");
  });
});

describe("fish completion", () => {
  it("names every command of the tree", () => {
    const { code, stdout } = runCli(["completion", "fish"]);
    expect(code).toBe(0);
    for (const word of ["init", "backup", "create", "restore-workload", "completion"]) {
      expect(stdout).toContain(`-a ${word} `);
    }
  });
});
