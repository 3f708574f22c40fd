import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { runCli } from "../../helpers/cli.js";

describe("infra CLI surface", () => {
  it("lists every command group of the README's CLI table in --help", () => {
    const { code, stdout } = runCli(["--help"]);
    expect(code).toBe(0);
    for (const group of [
      "init",
      "configure",
      "check",
      "plan",
      "up",
      "cluster",
      "node",
      "dns",
      "backup",
      "dr",
      "app",
      "status",
      "doctor",
    ]) {
      expect(stdout).toMatch(new RegExp(`^  ${group}\\b`, "m"));
    }
  });

  it("prints the package version and the commit it was built from", async () => {
    const { version } = (await import("../../../package.json", { with: { type: "json" } })).default;
    const { code, stdout } = runCli(["--version"]);
    expect(code).toBe(0);
    const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: PACKAGE_ROOT,
      encoding: "utf8",
    });
    expect(stdout.trim()).toMatch(
      new RegExp(`^${version.replace(/\./g, "\\.")} \\(commit ${head.stdout.trim()}(, modified)?\\)$`),
    );
  });

  it("rejects an unknown command with a usage error (exit 2)", () => {
    const { code, stderr } = runCli(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });

  it("rejects an unknown flag with a usage error (exit 2)", () => {
    const { code, stderr } = runCli(["doctor", "--frob"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--frob'");
  });

  it("has --help on every subcommand", () => {
    for (const command of [
      ["backup", "create"],
      ["dr", "drill"],
      ["node", "add"],
      ["tools", "install"],
    ]) {
      const { code, stdout } = runCli([...command, "--help"]);
      expect(code, command.join(" ")).toBe(0);
      expect(stdout).toContain(`Usage: infra ${command.join(" ")}`);
    }
  });

  it("reports the pinned tools as JSON with --json", () => {
    const { code, stdout } = runCli(["tools", "install", "--list", "--json"]);
    expect(code).toBe(0);
    const data = JSON.parse(stdout) as { tools: { name: string; status: string }[] };
    expect(data.tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(["ansible", "kubeconform", "sops", "age"]),
    );
    expect(data.tools.every((t) => t.status === "listed")).toBe(true);
  });

  it("names an unknown tool and lists the pinned ones", () => {
    const { code, stderr } = runCli(["tools", "install", "nosuchtool"]);
    expect(code).toBe(2);
    expect(stderr).toContain('no tool named "nosuchtool" is pinned');
    expect(stderr).toContain("hint: pinned tools: ansible");
  });
});
