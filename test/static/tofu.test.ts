/**
 * tofu/ with the real OpenTofu and tflint (built from their Go modules by the installer):
 * formatting, lint with a negative case, the rendered variables, and the adapter against real
 * `-json` output.
 *
 * Not here: `tofu init`/`validate`/`test` of tofu/ need the Cloudflare provider's schema, and the
 * provider cannot be had on these machines (the Go module proxy refuses its module; the provider
 * registry is unreachable). docs/testing.md says how to run those against the real registry.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJson, tofuEnv } from "../../src/adapters/tofu.js";
import { planAttributes } from "../../src/adapters/tofu-show.js";
import { validateConfigText } from "../../src/config/load.js";
import { InfraError } from "../../src/errors.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { tofuVars } from "../../src/render/render.js";
import { runTool } from "../helpers/tools.js";

const TOFU = join(PACKAGE_ROOT, "tofu");
const EXAMPLE_VARS = join("tests", "example-cluster.tfvars.json");

let env: NodeJS.ProcessEnv;
const scratch: string[] = [];

/** A copy of tofu/ without local state, so init and test never touch the working tree. */
async function copyOfTofu(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infra-tofu-"));
  scratch.push(dir);
  await cp(TOFU, dir, {
    recursive: true,
    filter: (src) => ![".terraform", "terraform.tfstate", "backend_override.tf"].includes(basename(src)),
  });
  return dir;
}

function tofu(args: string[], cwd: string) {
  return runTool("tofu", args, { cwd, env });
}

beforeAll(async () => {
  env = await tofuEnv(process.env);
});

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

describe("tofu/ (OpenTofu, tflint)", () => {
  it("is formatted (tofu fmt -check -recursive)", () => {
    const run = tofu(["fmt", "-check", "-recursive", "-diff", "-no-color"], TOFU);
    expect(run.output).toBe("");
    expect(run.code).toBe(0);
  });

  it("passes tflint (bundled Terraform ruleset, preset all) in the root module and both modules", () => {
    const run = runTool(
      "tflint",
      ["--recursive", "--config", join(TOFU, ".tflint.hcl"), "--format", "compact"],
      {
        cwd: TOFU,
        env,
      },
    );
    expect(run.output.trim()).toBe("");
    expect(run.code).toBe(0);
  });

  it("tflint reports an untyped, undocumented, unused variable", async () => {
    const dir = await copyOfTofu();
    await writeFile(join(dir, "modules", "r2-bucket", "extra.tf"), 'variable "x" {}\n');
    const run = runTool(
      "tflint",
      ["--recursive", "--config", join(dir, ".tflint.hcl"), "--format", "compact"],
      {
        cwd: dir,
        env,
      },
    );
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("terraform_typed_variables");
    expect(run.output).toContain("terraform_documented_variables");
  });

  it("the example-cluster variables are exactly what `infra configure` renders from cluster.example.yaml", async () => {
    const text = await readFile(join(PACKAGE_ROOT, "cluster.example.yaml"), "utf8");
    const { config } = validateConfigText(text, "cluster.example.yaml");
    expect(config).toBeDefined();
    if (!config) return;
    const fixture = JSON.parse(await readFile(join(TOFU, EXAMPLE_VARS), "utf8")) as unknown;
    expect(fixture).toEqual(tofuVars(config));
  });
});

describe("the tofu adapter against real -json output", () => {
  async function config(text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "infra-tofu-json-"));
    scratch.push(dir);
    await writeFile(join(dir, "main.tf"), text);
    const init = tofu(["init", "-input=false", "-no-color"], dir);
    expect(init.code).toBe(0);
    return dir;
  }

  it("collects planned changes and the summary of a plan, then of its apply", async () => {
    const dir = await config(
      'resource "terraform_data" "a" {\n  input = "one"\n}\n\nresource "terraform_data" "b" {}\n',
    );
    const seen: string[] = [];
    const plan = await runJson(["plan", "-json", "-input=false", "-detailed-exitcode", "-out=p.tfplan"], {
      cwd: dir,
      env,
      okExitCodes: [2],
      onMessage: (m) => seen.push(m.type),
    });
    expect(plan.result.exitCode).toBe(2);
    // tofu plans resources concurrently: the order of its messages varies from run to run.
    expect([...plan.changes].sort((x, y) => x.address.localeCompare(y.address))).toEqual([
      { address: "terraform_data.a", action: "create" },
      { address: "terraform_data.b", action: "create" },
    ]);
    expect(plan.summary).toEqual({ add: 2, change: 0, remove: 0 });
    expect(seen).toContain("planned_change");
    const apply = await runJson(["apply", "-json", "-input=false", "p.tfplan"], { cwd: dir, env });
    expect(apply.summary).toEqual({ add: 2, change: 0, remove: 0 });
    const again = await runJson(["plan", "-json", "-input=false", "-detailed-exitcode"], {
      cwd: dir,
      env,
      okExitCodes: [2],
    });
    expect(again.result.exitCode).toBe(0);
    expect(again.summary).toEqual({ add: 0, change: 0, remove: 0 });
  });

  it("reads attribute-level changes of a saved plan from `tofu show -json`", async () => {
    const dir = await config('resource "terraform_data" "a" {\n  input = "one"\n}\n');
    await runJson(["apply", "-json", "-input=false", "-auto-approve"], { cwd: dir, env });
    await writeFile(join(dir, "main.tf"), 'resource "terraform_data" "a" {\n  input = "two"\n}\n');
    const plan = await runJson(["plan", "-json", "-input=false", "-detailed-exitcode", "-out=p.tfplan"], {
      cwd: dir,
      env,
      okExitCodes: [2],
    });
    expect(plan.changes).toEqual([{ address: "terraform_data.a", action: "update" }]);
    const attributes = await planAttributes("p.tfplan", { cwd: dir, env });
    expect(attributes.get("terraform_data.a")).toEqual([
      { name: "input", before: '"one"', after: '"two"' },
      { name: "output", before: '"one"', after: "(known after apply)" },
    ]);
  });

  it("turns an error diagnostic into TOFU_FAILED with the file and line", async () => {
    const dir = await config('resource "terraform_data" "a" {\n  input = "one"\n}\n');
    await writeFile(join(dir, "main.tf"), 'resource "terraform_data" "a" {\n  input = var.missing\n}\n');
    const error = await runJson(["plan", "-json", "-input=false"], { cwd: dir, env }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).code).toBe("TOFU_FAILED");
    expect((error as InfraError).message).toMatch(/Reference to undeclared input variable/);
    expect((error as InfraError).location).toMatchObject({ file: "main.tf", line: 2 });
  });
});
