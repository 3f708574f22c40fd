/**
 * .pre-commit-config.yaml: the pinned pre-commit runs every hook on every file and passes; the hooks
 * are local (nothing is downloaded); and the refusals catch what they are for, at file and line, on a
 * copy of the repository with a generated private key, an age identity, an unencrypted *.sops.yaml and
 * a literal password planted. These hooks are the repository's secret scan (one place for the patterns).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { commitAll, copyRepository, type RepoCopy } from "../helpers/repo-copy.js";

let home = "";
let copy: RepoCopy | undefined;

beforeAll(async () => {
  // pre-commit's own store, not the user's ~/.cache/pre-commit
  home = await mkdtemp(join(tmpdir(), "infra-k3s-pre-commit-"));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await copy?.remove();
});

function preCommit(cwd: string, args: string[]) {
  const result = spawnSync("pre-commit", ["run", "--all-files", "--color=never", ...args], {
    cwd,
    env: { ...process.env, PRE_COMMIT_HOME: home, SKIP: "" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error)
    throw new Error(`pre-commit did not run (${result.error.message}): ./infra tools install pre-commit`);
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe(".pre-commit-config.yaml", () => {
  it("has only local hooks, one for each check it promises", () => {
    const config = parse(readFileSync(join(PACKAGE_ROOT, ".pre-commit-config.yaml"), "utf8")) as {
      repos: { repo: string; hooks: { id: string }[] }[];
    };
    expect(config.repos.map((r) => r.repo)).toEqual(["local"]);
    expect(config.repos.flatMap((r) => r.hooks.map((h) => h.id))).toEqual([
      "biome",
      "yamllint",
      "ansible-lint",
      "infra-check",
      "refuse-unencrypted-sops",
      "refuse-private-keys",
      "refuse-plaintext-credentials",
    ]);
  });

  it("pre-commit run --all-files passes with the repository's hooks", () => {
    const { code, output } = preCommit(PACKAGE_ROOT, []);
    expect(code, output).toBe(0);
    expect(output).not.toMatch(/Failed|Skipped/);
    expect(output.match(/\.Passed$/gm)?.length, output).toBe(7);
  });

  it("refuses a private key, an age identity, an unencrypted *.sops.yaml and a literal password, each at file and line", async () => {
    copy = await copyRepository({ git: true });
    const dir = copy.dir;
    const plant = async (file: string, text: string) => {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    const keygen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "deploy-key")]);
    expect(keygen.status, String(keygen.stderr)).toBe(0);
    const age = spawnSync("age-keygen", [], { encoding: "utf8" });
    expect(age.status, age.stderr).toBe(0);
    await plant("secrets/age.txt", age.stdout);
    const ageLine = age.stdout.split("\n").findIndex((l) => l.startsWith("AGE-SECRET-KEY-1")) + 1;
    await plant(
      "kubernetes/apps/demo/token.sops.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  token: plain\n",
    );
    await plant("config/app.yaml", `name: app\npassword: ${randomBytes(24).toString("base64")}\n`);
    commitAll(dir);

    const keys = preCommit(dir, ["refuse-private-keys"]);
    expect(keys.code, keys.output).toBe(1);
    expect(keys.output).toContain("deploy-key:1:");
    expect(keys.output).toContain(`secrets/age.txt:${ageLine}:`);
    expect(keys.output).not.toContain("deploy-key.pub");

    const sops = preCommit(dir, ["refuse-unencrypted-sops"]);
    expect(sops.code, sops.output).toBe(1);
    expect(sops.output).toContain("kubernetes/apps/demo/token.sops.yaml");
    // the encrypted ones of the tree and the SOPS configuration itself pass
    expect(sops.output.split("\n").filter((l) => l.endsWith(".sops.yaml"))).toEqual([
      "kubernetes/apps/demo/token.sops.yaml",
    ]);

    const credentials = preCommit(dir, ["refuse-plaintext-credentials"]);
    expect(credentials.code, credentials.output).toBe(1);
    expect(credentials.output).toContain("config/app.yaml:2:");
  });
});
