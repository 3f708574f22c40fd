import { spawnSync } from "node:child_process";
import { PACKAGE_ROOT } from "../../src/package-root.js";

export interface ToolRun {
  code: number;
  output: string;
}

/**
 * Runs a pinned external tool for a static check. A missing tool is a failure that says how
 * to install it — never a skip.
 */
export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): ToolRun {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: { ...process.env, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(
      `${command} is not installed: run \`./infra tools install --tests\` (see \`./infra doctor\`)`,
    );
  }
  return { code: result.status ?? -1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Files git tracks or would track (untracked but not ignored), relative to the repository root. */
export function repoFiles(patterns: string[]): string[] {
  const result = spawnSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "--", ...patterns],
    {
      cwd: PACKAGE_ROOT,
      encoding: "utf8",
    },
  );
  return result.stdout.split("\n").filter(Boolean);
}
