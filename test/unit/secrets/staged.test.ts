/**
 * StagedFiles writes everything or nothing: a failure while staging or in the middle of the
 * renames leaves every destination as it was, with no temporary file behind, and says so.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { InfraError } from "../../../src/errors.js";
import { StagedFiles } from "../../../src/secrets/staged.js";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (name: string) => readFileSync(join(dir, name), "utf8");

describe("StagedFiles", () => {
  it("renames every staged file into place on commit, replacing the old ones without leftovers", async () => {
    dir = mkdtempSync(join(tmpdir(), "infra-staged-"));
    writeFileSync(join(dir, "a"), "old a");
    const staged = new StagedFiles(dir);
    await staged.stage(join(dir, "a"), "new a");
    await staged.stage(join(dir, "sub", "b"), "new b");
    expect(read("a")).toBe("old a");
    await staged.commit();
    expect([read("a"), read("sub/b")]).toEqual(["new a", "new b"]);
    expect(readdirSync(dir).sort()).toEqual(["a", "sub"]);
  });

  it("a rename failing part-way puts back what the earlier renames replaced (WRITE_FAILED, exit 1)", async () => {
    dir = mkdtempSync(join(tmpdir(), "infra-staged-"));
    writeFileSync(join(dir, "a"), "old a");
    writeFileSync(join(dir, "c"), "old c");
    const staged = new StagedFiles(dir);
    await staged.stage(join(dir, "a"), "new a");
    await staged.stage(join(dir, "b"), "new b");
    // The last rename fails: its temporary file is gone, as if the directory had turned read-only.
    rmSync(await staged.stage(join(dir, "c"), "new c"));
    const error = (await staged.commit().catch((e: unknown) => e)) as InfraError;
    expect(error.code).toBe("WRITE_FAILED");
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/cannot be written \(ENOENT\); nothing was written$/);
    await staged.discard();
    expect([read("a"), read("c")]).toEqual(["old a", "old c"]);
    expect(existsSync(join(dir, "b"))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["a", "c"]);
  });

  it("a file that appeared meanwhile is not replaced, and nothing is written", async () => {
    dir = mkdtempSync(join(tmpdir(), "infra-staged-"));
    const staged = new StagedFiles(dir);
    await staged.stage(join(dir, "a"), "new a");
    await staged.stage(join(dir, "key"), "secret", { private: true, noClobber: true });
    writeFileSync(join(dir, "key"), "someone else's");
    await expect(staged.commit()).rejects.toMatchObject({ code: "WRITE_FAILED" });
    await staged.discard();
    expect(read("key")).toBe("someone else's");
    expect(readdirSync(dir)).toEqual(["key"]);
  });

  it("a directory that cannot be created fails while staging, before anything is renamed", async () => {
    dir = mkdtempSync(join(tmpdir(), "infra-staged-"));
    writeFileSync(join(dir, "file"), "");
    const staged = new StagedFiles(dir);
    await staged.stage(join(dir, "a"), "new a");
    await expect(staged.stage(join(dir, "file", "b"), "b")).rejects.toMatchObject({
      code: "WRITE_FAILED",
      message: expect.stringContaining("nothing was written"),
    });
    await staged.discard();
    expect(readdirSync(dir)).toEqual(["file"]);
  });
});
