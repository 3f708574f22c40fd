/**
 * A throw-away copy of the repository (every file git tracks or would track, node_modules linked,
 * not copied) in which a test breaks something on purpose and runs the real checks on it.
 */
import { spawnSync } from "node:child_process";
import { appendFile, copyFile, cp, mkdir, mkdtemp, rm, stat, symlink, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { repoFiles } from "./tools.js";

export interface RepoCopy {
  dir: string;
  remove(): Promise<void>;
}

/** `git: true` makes the copy a repository of its own with everything committed (pre-commit and Renovate read git). */
export async function copyRepository(options: { git?: boolean } = {}): Promise<RepoCopy> {
  const dir = await mkdtemp(join(tmpdir(), "infra-k3s-copy-"));
  for (const file of repoFiles(["*"])) {
    if (file.startsWith("node_modules/")) continue;
    await mkdir(dirname(join(dir, file)), { recursive: true });
    // a file deleted in the work tree but still tracked is simply not copied
    await copyFile(join(PACKAGE_ROOT, file), join(dir, file)).catch(() => undefined);
  }
  await symlink(join(PACKAGE_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  if (options.git) {
    git(dir, "init", "--quiet", "--initial-branch=main");
    // .gitignore's `node_modules/` matches a directory, not the link to one
    await appendFile(join(dir, ".git", "info", "exclude"), "node_modules\n");
    commitAll(dir);
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

function git(dir: string, ...args: string[]): void {
  const result = spawnSync("git", args, { cwd: dir, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
}

/** Commits everything in a copy made with `git: true` (tools that read committed files see it). */
export function commitAll(dir: string): void {
  git(dir, "add", "--all");
  git(
    dir,
    "-c",
    "user.name=test",
    "-c",
    "user.email=test@example.org",
    "commit",
    "--quiet",
    "--allow-empty",
    "-m",
    "test",
  );
}

/**
 * A copy as a user has it after the first run of `./infra`: the built dist/ too, and timestamps
 * that tell the launcher nothing needs installing or building (run `npm run build` first; the
 * test tiers do). For tests that run the copy's own CLI or launcher.
 */
export async function builtCopy(): Promise<RepoCopy> {
  const copy = await copyRepository();
  await cp(join(PACKAGE_ROOT, "dist"), join(copy.dir, "dist"), { recursive: true });
  // the launcher reinstalls when package-lock.json is newer than node_modules' record of it
  const lock = await stat(join(PACKAGE_ROOT, "package-lock.json"));
  await utimes(join(copy.dir, "package-lock.json"), lock.atime, lock.mtime);
  // and rebuilds when a source is newer than the build stamp
  const now = new Date();
  await utimes(join(copy.dir, "dist", ".build-stamp"), now, now);
  return copy;
}
