/**
 * A throw-away copy of the repository (every file git tracks or would track, node_modules linked,
 * not copied) in which a test breaks something on purpose and runs the real checks on it.
 */
import { spawnSync } from "node:child_process";
import { appendFile, copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { repoFiles } from "./tools.js";

export interface RepoCopy {
  dir: string;
  remove(): Promise<void>;
}

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
    // A repository of its own (pre-commit and `git ls-files` need one), with everything committed.
    const git = (...args: string[]) => {
      const result = spawnSync("git", args, { cwd: dir, encoding: "utf8" });
      if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
    };
    git("init", "--quiet", "--initial-branch=main");
    // .gitignore's `node_modules/` matches a directory, not the link to one
    await appendFile(join(dir, ".git", "info", "exclude"), "node_modules\n");
    git("add", "--all");
    git("-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "--quiet", "-m", "copy");
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
