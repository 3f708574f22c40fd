/**
 * The built CLI on a real pseudo-terminal (`script` from util-linux). Colour only on a terminal,
 * never with NO_COLOR: under a terminal, in a pipe, and on a terminal with NO_COLOR set. And a
 * Ctrl-C typed at a confirmation question cancels: exit 130, nothing changed.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/package-root.js";

const BIN = join(PACKAGE_ROOT, "dist", "bin.js");
const ESC = "\u001b[";
/** An error (red) and a command's progress and warnings (bold, yellow). */
const ARGS = ["plan", "--config", "does-not-exist.yaml"];

function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color", ...extra };
  for (const key of Object.keys(extra)) if (extra[key] === undefined) delete clean[key];
  return clean;
}

/** Runs the CLI with a pseudo-terminal as its stdin, stdout and stderr. */
function onTerminal(extra: NodeJS.ProcessEnv) {
  const command = [process.execPath, BIN, ...ARGS].map((w) => `'${w}'`).join(" ");
  return spawnSync("script", ["-q", "-e", "-c", command, "/dev/null"], { env: env(extra), encoding: "utf8" });
}

describe("colour", () => {
  it("is used on a terminal", () => {
    const run = onTerminal({ NO_COLOR: undefined });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain("does-not-exist.yaml");
    expect(run.stdout).toContain(`${ESC}31m✗`);
  });

  it("is not used in a pipe", () => {
    const run = spawnSync(process.execPath, [BIN, ...ARGS], {
      env: env({ NO_COLOR: undefined }),
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("✗");
    expect(run.stderr + run.stdout).not.toContain(ESC);
  });

  it("is not used on a terminal with NO_COLOR", () => {
    const run = onTerminal({ NO_COLOR: "1" });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain("✗");
    expect(run.stdout).not.toContain(ESC);
  });
});

describe("Ctrl-C at a confirmation question", () => {
  it("cancels with exit 130 and changes nothing", () => {
    const project = mkdtempSync(join(tmpdir(), "infra-terminal-"));
    try {
      copyFileSync(
        join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml"),
        join(project, "cluster.yaml"),
      );
      const command = [process.execPath, BIN, "node", "remove", "cp-2"].map((w) => `'${w}'`).join(" ");
      // the terminal's line discipline turns the typed ^C into SIGINT, as a person's Ctrl-C
      const run = spawnSync(
        "sh",
        ["-c", `(sleep 5; printf '\\003'; sleep 5) | script -q -e -c "${command}" /dev/null`],
        {
          cwd: project,
          env: env({ NO_COLOR: "1" }),
          encoding: "utf8",
        },
      );
      expect(run.stdout).toContain("[y/N]");
      expect(run.stdout).toContain("✗ cancelled at the question; nothing was changed");
      expect(run.status).toBe(130);
      expect(existsSync(join(project, ".infra"))).toBe(false);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
