/**
 * End to end through the built CLI (`npm run test:unit` builds first): `node dist/bin.js plan`
 * and friends on the repository and on temporary projects, checking stdout, stderr and exit codes.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { runCli } from "../../helpers/cli.js";

const BIN = join(PACKAGE_ROOT, "dist", "bin.js");
let dir: string;

const infra = (args: string[], cwd = PACKAGE_ROOT) => runCli(args, { cwd });

beforeAll(() => {
  if (!existsSync(BIN))
    throw new Error("dist/bin.js is missing: run `npm run build` (npm run test:unit does)");
  dir = mkdtempSync(join(tmpdir(), "infra-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("infra plan (built CLI)", () => {
  it("plans the example on a checkout without cluster.yaml and says which file it used", () => {
    const { code, stdout, stderr } = infra(["plan", "--config", "cluster.example.yaml"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^using cluster\.example\.yaml/m);
    expect(stdout).toMatch(/^Plan for cluster demo \(example\.com\) from cluster\.example\.yaml/);
    expect(stdout).toMatch(
      /server +hetzner-fsn1-1 +hetzner +fsn1 +100\.100\.10\.1 +203\.0\.113\.10 +no +cluster-init/,
    );
    expect(stdout).toMatch(
      /agent +vultr-ams-1 +vultr +ams +assigned at join +198\.51\.100\.20 +yes +join https:\/\/100\.100\.10\.1:6443/,
    );
    expect(stdout).toContain("Argo CD applications in sync-wave order:");
    expect(stdout).toContain("Nothing was changed");
  });

  it("defaults to the example when the directory has no cluster.yaml", () => {
    const { code, stderr } = infra(["plan"], dir);
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /using .*cluster\.example\.yaml \(no cluster\.yaml in .*; `infra init` creates one\)/,
    );
  });

  it("--json prints the same plan as data on stdout only", () => {
    const { code, stdout } = infra(["plan", "--json", "--config", "cluster.example.yaml"]);
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.cluster).toMatchObject({
      name: "demo",
      k3sVersion: "v1.36.3+k3s1",
      apiHostname: "k8s-api.example.com",
    });
    expect(plan.nodes).toHaveLength(3);
    expect(plan.dns.records.map((r: { name: string }) => r.name)).toEqual(["k8s-api", "ingress", "ingress"]);
    expect(plan.bucket.name).toBe("demo-backups");
    expect(plan.versions[0]).toEqual({
      component: "k3s",
      version: "v1.36.3+k3s1",
      source: "cluster.example.yaml",
    });
  });

  it("reports a YAML syntax error as file:line:column and exits 2", () => {
    writeFileSync(join(dir, "cluster.yaml"), "version: 1\nname: [demo\ndomain: example.com\n");
    const { code, stdout, stderr } = infra(["plan"], dir);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^✗ cluster\.yaml:\d+:\d+: YAML syntax error: /m);
    expect(stderr).toMatch(/hint: fix the YAML at that position/);
    expect(stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("lists every config error with position, path, code and hint; --json gives them as data", () => {
    const text = readFileSync(
      join(PACKAGE_ROOT, "test", "fixtures", "config", "invalid", "role-typo.yaml"),
      "utf8",
    );
    writeFileSync(join(dir, "cluster.yaml"), text.replace("email: admin@example.net", "email: admin"));
    const human = infra(["plan"], dir);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain("✗ cluster.yaml: invalid config: 2 errors; nothing was changed");
    expect(human.stderr).toContain(
      '  ✗ cluster.yaml:11:11 (nodes[0].role): "sever" is not one of server, agent [CONFIG_INVALID_OPTION]',
    );
    expect(human.stderr).toContain('    hint: did you mean "server"?');
    expect(human.stderr).toContain(
      '  ✗ cluster.yaml:17:10 (acme.email): "admin" is not an e-mail address Let\'s Encrypt accepts: it has no @ [EMAIL_INVALID]',
    );
    const json = infra(["plan", "--json"], dir);
    expect(json.code).toBe(2);
    const error = JSON.parse(json.stdout).error;
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.details.map((d: { code: string }) => d.code)).toEqual([
      "CONFIG_INVALID_OPTION",
      "EMAIL_INVALID",
    ]);
  });
});

describe("infra configure (built CLI)", () => {
  it("renders, is idempotent, and --check fails on a stale file", () => {
    const project = mkdtempSync(join(tmpdir(), "infra-cli-configure-"));
    try {
      copyFileSync(
        join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml"),
        join(project, "cluster.yaml"),
      );
      expect(infra(["configure"], project).code).toBe(0);
      const second = infra(["configure"], project);
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/nothing to do/);
      expect(infra(["configure", "--check"], project).code).toBe(0);
      const vars = join(project, "ansible", "inventory", "group_vars", "all", "cluster.yml");
      writeFileSync(vars, `${readFileSync(vars, "utf8")}# edited by hand\n`);
      const check = infra(["configure", "--check"], project);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain("✗ stale  ansible/inventory/group_vars/all/cluster.yml");
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
