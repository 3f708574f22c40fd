/**
 * Files written all at once or not at all: each is first written to a temporary file beside its
 * destination (same directory, so the rename is atomic), and only `commit()` renames them into
 * place, in the order they were staged. Any failure before that leaves every destination as it
 * was; `discard()` removes the temporary files.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The suffix of temporary files (git-ignored, in case a crash leaves one behind). */
export const STAGED_SUFFIX = ".infra-tmp";

interface Staged {
  temp: string;
  final: string;
  /** Move the file already at `final` here first (a rotation keeps the replaced key). */
  keepOldAs?: string;
  /** Refuse to replace a file that appeared at `final` meanwhile. */
  noClobber: boolean;
}

export class StagedFiles {
  private readonly files: Staged[] = [];

  /**
   * Writes `content` to a temporary file next to `final` and returns its path. A private file
   * (a key, a password) gets mode 0600 and, when its directory is new, a 0700 directory.
   */
  async stage(
    final: string,
    content: string,
    options: { private?: boolean; keepOldAs?: string; noClobber?: boolean } = {},
  ): Promise<string> {
    const dir = dirname(final);
    await mkdir(dir, { recursive: true, mode: options.private ? 0o700 : 0o755 });
    const temp = join(dir, `.${basename(final)}.${randomBytes(4).toString("hex")}${STAGED_SUFFIX}`);
    const mode = options.private ? 0o600 : 0o644;
    await writeFile(temp, content, { mode, flag: "wx" });
    await chmod(temp, mode); // the umask may have narrowed or widened it
    const staged: Staged = { temp, final, noClobber: options.noClobber === true };
    if (options.keepOldAs) staged.keepOldAs = options.keepOldAs;
    this.files.push(staged);
    return temp;
  }

  get finals(): string[] {
    return this.files.map((f) => f.final);
  }

  async commit(): Promise<void> {
    for (const file of this.files) {
      if (file.noClobber && existsSync(file.final))
        throw new Error(`${file.final} appeared meanwhile; not replaced`);
    }
    for (const file of this.files) {
      if (file.keepOldAs && existsSync(file.final)) await rename(file.final, file.keepOldAs);
      await rename(file.temp, file.final);
    }
    this.files.length = 0;
  }

  async discard(): Promise<void> {
    await Promise.all(this.files.map((f) => rm(f.temp, { force: true })));
    this.files.length = 0;
  }
}
