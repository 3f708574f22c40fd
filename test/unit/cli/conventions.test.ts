/**
 * kubectl/gh conventions through the built CLI: `configure --check` shows a unified diff,
 * --quiet keeps only the result, --verbose prints each external command with secrets redacted,
 * global options appear in every command's help, every help has examples.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { redact } from "../../../src/ui/trace.js";
import { runCli } from "../../helpers/cli.js";

let project: string;
beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "infra-conventions-"));
  copyFileSync(
    join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml"),
    join(project, "cluster.yaml"),
  );
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("configure --check", () => {
  it("prints a unified diff of each stale file, from the file on disk to what cluster.yaml renders", () => {
    expect(runCli(["configure"], { cwd: project }).code).toBe(0);
    const vars = join(project, "ansible", "inventory", "group_vars", "all", "cluster.yml");
    writeFileSync(
      vars,
      readFileSync(vars, "utf8").replace("etcd_s3_folder: etcd/prod", "etcd_s3_folder: etcd/old"),
    );
    const { code, stdout } = runCli(["configure", "--check"], { cwd: project });
    expect(code).toBe(1);
    expect(stdout).toContain("✗ stale  ansible/inventory/group_vars/all/cluster.yml");
    expect(stdout).toContain("--- a/ansible/inventory/group_vars/all/cluster.yml\ton disk");
    expect(stdout).toContain(
      "+++ b/ansible/inventory/group_vars/all/cluster.yml\trendered from cluster.yaml",
    );
    expect(stdout).toMatch(/^-etcd_s3_folder: etcd\/old$/m);
    expect(stdout).toMatch(/^\+etcd_s3_folder: etcd\/prod$/m);
    const json = JSON.parse(runCli(["configure", "--check", "--json"], { cwd: project }).stdout);
    expect(json.files.find((f: { state: string }) => f.state === "stale").diff).toContain(
      "+etcd_s3_folder: etcd/prod",
    );
  });
});

describe("--quiet and --verbose", () => {
  it("--quiet drops progress but keeps the result", () => {
    const loud = runCli(["plan"], { cwd: project });
    const quiet = runCli(["plan", "--quiet"], { cwd: project });
    expect(loud.stderr).toContain("using ");
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toBe(loud.stdout);
  });

  it("--verbose prints each external command", () => {
    const { stderr } = runCli(["--verbose", "doctor"], { env: { INFRA_CACHE_DIR: project } });
    expect(stderr).toMatch(/^\+ exec: \S+/m);
  });

  it("redacts secrets in what it prints", () => {
    expect(redact("exec: tailscale up --authkey tskey-123 --hostname a")).toBe(
      "exec: tailscale up --authkey *** --hostname a",
    );
    expect(redact('exec: ansible-playbook -e "k3s_token=s3cr3t" site.yml')).not.toContain("s3cr3t");
    expect(redact("exec: tofu apply TF_VAR_cloudflare_api_token=abc")).toBe(
      "exec: tofu apply TF_VAR_cloudflare_api_token=***",
    );
    expect(redact("api: GET https://h/x?token=abc&limit=1")).toBe("api: GET https://h/x?token=***&limit=1");
    expect(redact("Authorization: Bearer eyJhbGci")).toBe("Authorization: Bearer ***");
    expect(redact("exec: ansible-playbook --vault-password-file /p site.yml")).toContain("/p");
  });
});

describe("help", () => {
  it("every command's help shows the global options and examples", () => {
    for (const command of [
      ["status"],
      ["backup", "create"],
      ["dr", "drill"],
      ["configure"],
      ["completion"],
    ]) {
      const { code, stdout } = runCli([...command, "--help"]);
      expect(code, command.join(" ")).toBe(0);
      expect(stdout, command.join(" ")).toContain("Global Options:");
      expect(stdout, command.join(" ")).toMatch(/--config <file>[\s\S]*--quiet[\s\S]*--verbose/);
      expect(stdout, command.join(" ")).toMatch(/Examples:\n {2}\$ infra /);
    }
  });
});
