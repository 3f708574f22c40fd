/**
 * Static tier for the config slice: the committed renderings match cluster.example.yaml
 * (`infra configure --check`), everything rendered or written by `infra init` passes yamllint with
 * the repository's rules, and the age key `infra init` writes works with the pinned sops and age.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { RENDERED_FILES } from "../../src/render/render.js";
import { runCli } from "../helpers/cli.js";
import { INIT_ARGS } from "../helpers/init-args.js";
import { runTool } from "../helpers/tools.js";

let project = "";
let home = "";

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "infra-static-init-"));
  home = mkdtempSync(join(tmpdir(), "infra-static-home-"));
  const init = runCli(INIT_ARGS, {
    cwd: project,
    env: { HOME: home, XDG_CONFIG_HOME: "", SOPS_AGE_KEY_FILE: "", ANSIBLE_VAULT_PASSWORD_FILE: "" },
  });
  if (init.code !== 0) throw new Error(`infra init failed:\n${init.stderr}`);
});
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe("infra configure --check on the committed tree", () => {
  it("finds every rendered file up to date with cluster.example.yaml", () => {
    const { code, stdout, stderr } = runCli(["configure", "--check", "--config", "cluster.example.yaml"]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain("all rendered files match cluster.example.yaml");
  });
});

describe("ansible-inventory (pinned) reads what configure renders", () => {
  it.each([
    ["single-node.yaml", { k3s_masters: ["solo-1"], k3s_workers: [] }],
    ["ha-3-servers.yaml", { k3s_masters: ["cp-1", "cp-2", "cp-3"], k3s_workers: ["edge-1", "batch-1"] }],
  ])("%s: groups, host vars and the cluster vars", (fixture, groups) => {
    const dir = mkdtempSync(join(tmpdir(), "infra-static-inventory-"));
    try {
      writeFileSync(
        join(dir, "cluster.yaml"),
        readFileSync(join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", fixture)),
      );
      const configure = runCli(["configure"], { cwd: dir });
      expect(configure.code, configure.stderr).toBe(0);
      const { code, output } = runTool("ansible-inventory", ["-i", RENDERED_FILES.inventory, "--list"], {
        cwd: dir,
        env: { ANSIBLE_INVENTORY_UNPARSED_FAILED: "true", ANSIBLE_INVENTORY_ENABLED: "yaml" },
      });
      expect(code, output).toBe(0);
      // stderr follows stdout in `output`: a Python warning there (cryptography's DSA deprecation) is not JSON
      const list = JSON.parse(output.slice(output.indexOf("{"), output.lastIndexOf("}") + 1));
      expect(list.k3s_cluster.children).toEqual(["k3s_masters", "k3s_workers"]);
      expect(list.k3s_masters.hosts).toEqual(groups.k3s_masters);
      expect(list.k3s_workers?.hosts ?? []).toEqual(groups.k3s_workers);
      const first = list._meta.hostvars[groups.k3s_masters[0] ?? ""];
      expect(first).toMatchObject({
        node_provider: expect.any(String),
        node_ingress: expect.any(Boolean),
        ansible_port: expect.any(Number),
      });
      expect(first.k3s_api_hostname).toMatch(/^k8s-api\./);
      expect(typeof first.etcd_s3_enabled).toBe("boolean");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("yamllint (pinned) with the repository's .yamllint", () => {
  it("passes the example, the rendered files, .sops.yaml and the valid fixtures", () => {
    const files = [
      "cluster.example.yaml",
      ".sops.yaml",
      ...Object.values(RENDERED_FILES).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml")),
      "test/fixtures/config",
    ];
    const { code, output } = runTool("yamllint", ["--strict", "-c", ".yamllint", ...files]);
    expect(code, output).toBe(0);
  });

  it("passes the cluster.yaml and .sops.yaml that `infra init` writes, and what configure renders from them", () => {
    const configure = runCli(["configure"], { cwd: project });
    expect(configure.code, configure.stderr).toBe(0);
    const files = [
      "cluster.yaml",
      ".sops.yaml",
      ...Object.values(RENDERED_FILES).filter((f) => !f.endsWith(".json")),
    ];
    const { code, output } = runTool(
      "yamllint",
      ["--strict", "-c", join(PACKAGE_ROOT, ".yamllint"), ...files],
      { cwd: project },
    );
    expect(code, output).toBe(0);
  });
});

describe("the age key from `infra init` with the pinned sops and age", () => {
  const keyFile = () => join(home, ".config", "sops", "age", "lab.txt");

  it("age-keygen derives the recipient written to .sops.yaml", () => {
    const { code, output } = runTool("age-keygen", ["-y", keyFile()]);
    expect(code, output).toBe(0);
    const sops = parse(readFileSync(join(project, ".sops.yaml"), "utf8"));
    expect(output.trim()).toBe(sops.creation_rules[0].age);
  });

  it("sops encrypts only data/stringData of kubernetes/**.sops.yaml and decrypts with the key", () => {
    mkdirSync(join(project, "kubernetes", "apps", "demo"), { recursive: true });
    const secret = "kubernetes/apps/demo/token.sops.yaml";
    writeFileSync(
      join(project, secret),
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: demo\nstringData:\n  token: s3cr3t-value\n",
    );
    const encrypt = runTool("sops", ["--encrypt", "--in-place", secret], {
      cwd: project,
      env: { SOPS_AGE_KEY_FILE: "" },
    });
    expect(encrypt.code, encrypt.output).toBe(0);
    const encrypted = readFileSync(join(project, secret), "utf8");
    expect(encrypted).not.toContain("s3cr3t-value");
    expect(encrypted).toContain("name: token");
    expect(encrypted).toMatch(/token: ENC\[AES256_GCM,/);
    const decrypt = runTool("sops", ["--decrypt", secret], {
      cwd: project,
      env: { SOPS_AGE_KEY_FILE: keyFile() },
    });
    expect(decrypt.code, decrypt.output).toBe(0);
    expect(parse(decrypt.output).stringData.token).toBe("s3cr3t-value");
  });
});
