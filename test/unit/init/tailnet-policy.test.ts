/**
 * What `infra init` does with tailnet/policy.hujson: the example cluster's file gives way to the new
 * cluster's policy, a file of the user's own keeps its rules, and a path that is not a file stops init
 * with a located error before anything is written.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { validateConfigText } from "../../../src/config/load.js";
import { InfraError } from "../../../src/errors.js";
import { stageTailnetPolicy } from "../../../src/init/tailnet-policy.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { StagedFiles } from "../../../src/secrets/staged.js";

const POLICY = join("tailnet", "policy.hujson");
const example = readFileSync(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
const config = (name: string) => {
  const parsed = validateConfigText(example.replace(/^name: demo$/m, `name: ${name}`), "cluster.yaml").config;
  if (!parsed) throw new Error("the example does not validate");
  return parsed;
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function repo(policy: string | "directory" | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), "infra-init-policy-"));
  dirs.push(dir);
  mkdirSync(join(dir, "tailnet"));
  if (policy === "directory") mkdirSync(join(dir, POLICY));
  else if (policy !== undefined) writeFileSync(join(dir, POLICY), policy);
  return dir;
}

async function stage(dir: string, name: string) {
  const staged = new StagedFiles(dir);
  const result = await stageTailnetPolicy(dir, config(name), staged);
  await staged.commit();
  return { result, text: readFileSync(join(dir, POLICY), "utf8") };
}

describe("infra init and tailnet/policy.hujson", () => {
  it("replaces the example cluster's policy with the new cluster's, and then leaves it", async () => {
    const committed = readFileSync(join(PACKAGE_ROOT, POLICY), "utf8");
    const dir = repo(committed);
    const first = await stage(dir, "prod");
    expect(first.result).toEqual({ path: "tailnet/policy.hujson", action: "replaced" });
    expect(first.text).toContain('cluster "prod"');
    expect(first.text).not.toContain("infra-k3s demo ");
    expect((await stage(dir, "prod")).result).toEqual({ path: "tailnet/policy.hujson", action: "unchanged" });
  });

  it("keeps the user's own rules in a file that is not the example's", async () => {
    const dir = repo(
      '{\n  // mine\n  "acls": [\n    { "action": "accept", "src": ["group:me"], "dst": ["*:22"] },\n  ],\n}\n',
    );
    const { result, text } = await stage(dir, "prod");
    expect(result?.action).toBe("replaced");
    expect(text).toContain('"src": ["group:me"]');
    expect(text).toContain("infra-k3s prod acls");
  });

  it("a directory where the policy file belongs: a located error, nothing written", async () => {
    const dir = repo("directory");
    const error = await stageTailnetPolicy(dir, config("prod"), new StagedFiles(dir)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InfraError);
    expect(error).toMatchObject({ code: "CONFIG_NOT_A_FILE", location: { file: "tailnet/policy.hujson" } });
    expect((error as InfraError).hint).toContain("git checkout -- tailnet/policy.hujson");
  });

  it("writes nothing in a repository without the tailnet/ folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "infra-init-policy-"));
    dirs.push(dir);
    expect(await stageTailnetPolicy(dir, config("prod"), new StagedFiles(dir))).toBeUndefined();
  });
});
