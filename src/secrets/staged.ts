/**
 * Files written all at once or not at all: each is first written to a temporary file beside its
 * destination (same directory, so the rename is atomic), and only `commit()` renames them into
 * place, in the order they were staged. A failure while staging leaves every destination as it
 * was; a rename that fails during `commit()` (a read-only mount, an immutable file) puts back what
 * the earlier renames replaced. `discard()` removes the temporary files.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InfraError } from "../errors.js";
import { displayPath } from "../root.js";

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

/** A staged file renamed into place; `previous` is where the file it replaced went. */
interface Placed {
  file: Staged;
  previous: string | undefined;
  /** The new file is at `final` (false: the rename of the new file itself failed). */
  renamed: boolean;
}

/** A hidden name beside `final` that git ignores. */
function besideName(final: string, tag: string): string {
  return join(dirname(final), `.${basename(final)}.${randomBytes(4).toString("hex")}${tag}${STAGED_SUFFIX}`);
}

function writeFailed(path: string, error: unknown, state: string): InfraError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new InfraError("WRITE_FAILED", `cannot be written (${reason}); ${state}`, {
    location: { file: path },
    hint: "make the file and its directory writable (not a read-only mount, not immutable), then run the command again",
    cause: error,
  });
}

export class StagedFiles {
  private readonly files: Staged[] = [];

  /** `shownFrom`: errors name files relative to this directory (the user's) when inside it. */
  constructor(private readonly shownFrom: string) {}

  /**
   * Writes `content` to a temporary file next to `final` and returns its path. A private file
   * (a key, a password) gets mode 0600 and, when its directory is new, a 0700 directory.
   */
  async stage(
    final: string,
    content: string,
    options: { private?: boolean; keepOldAs?: string; noClobber?: boolean } = {},
  ): Promise<string> {
    const temp = besideName(final, "");
    const mode = options.private ? 0o600 : 0o644;
    try {
      await mkdir(dirname(final), { recursive: true, mode: options.private ? 0o700 : 0o755 });
      await writeFile(temp, content, { mode, flag: "wx" });
      await chmod(temp, mode); // the umask may have narrowed or widened it
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw writeFailed(this.shown(final), error, "nothing was written");
    }
    const staged: Staged = { temp, final, noClobber: options.noClobber === true };
    if (options.keepOldAs) staged.keepOldAs = options.keepOldAs;
    this.files.push(staged);
    return temp;
  }

  private shown(path: string): string {
    return displayPath(this.shownFrom, path);
  }

  get finals(): string[] {
    return this.files.map((f) => f.final);
  }

  async commit(): Promise<void> {
    for (const file of this.files) {
      if (file.noClobber && existsSync(file.final)) {
        throw new InfraError("WRITE_FAILED", "appeared while this command ran; nothing was written", {
          location: { file: this.shown(file.final) },
          hint: "another program wrote it meanwhile: check it, then run the command again",
        });
      }
    }
    const placed: Placed[] = [];
    for (const file of this.files) {
      const replacing = existsSync(file.final);
      const entry: Placed = { file, previous: undefined, renamed: false };
      try {
        if (replacing) {
          const previous = file.keepOldAs ?? besideName(file.final, ".old");
          await rename(file.final, previous);
          entry.previous = previous;
        }
        placed.push(entry);
        await rename(file.temp, file.final);
        entry.renamed = true;
      } catch (error) {
        const left = await this.putBack(placed);
        throw writeFailed(
          this.shown(file.final),
          error,
          left.length === 0 ? "nothing was written" : `these could not be put back: ${left.join(", ")}`,
        );
      }
    }
    // The replaced files are not needed any more, except those kept on purpose.
    await Promise.all(
      placed
        .filter((p) => p.previous && !p.file.keepOldAs)
        .map((p) => rm(p.previous as string, { force: true })),
    );
    this.files.length = 0;
  }

  /** Undoes the renames of `placed`, newest first; returns the destinations it could not restore. */
  private async putBack(placed: Placed[]): Promise<string[]> {
    const left: string[] = [];
    for (const { file, previous, renamed } of [...placed].reverse()) {
      try {
        if (renamed) await rename(file.final, file.temp);
        if (previous) await rename(previous, file.final);
      } catch {
        left.push(file.final);
      }
    }
    return left;
  }

  async discard(): Promise<void> {
    await Promise.all(this.files.map((f) => rm(f.temp, { force: true })));
    this.files.length = 0;
  }
}
