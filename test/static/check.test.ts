import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import { checkCommand } from "../../src/check/check-command.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { context, copyCommittedTree, isolatedEnv, writeRepo } from "./check-helpers.js";

const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function check(root: string, env?: NodeJS.ProcessEnv) {
  cleanup.push(root);
  const result = await checkCommand(context(root, env ?? (await isolatedEnv())));
  return result;
}

const KUSTOMIZATION = "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
const CONFIGMAP = (name: string) =>
  `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: b\n`;

describe("infra check on the committed tree", () => {
  it("builds every kustomization and finds no error", async () => {
    const result = await check(await copyCommittedTree());
    expect(result.data.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(result.data.ok).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(result.data.kustomizations).toBeGreaterThanOrEqual(12);
    expect(result.data.resources).toBeGreaterThan(30);
    expect(result.data.notes.join("\n")).toMatch(/remote resource\(s\) are pinned but not fetched offline/);
    expect(result.human(result.data)).toMatch(/^✓ \d+ kustomizations built/m);
  });

  it("reports a stack rule in a built Application at its source line", async () => {
    const root = await copyCommittedTree();
    const file = join(root, "kubernetes/infrastructure/velero.yaml");
    const text = await readFile(file, "utf8");
    await writeFile(file, text.replace("velero-plugin-for-aws:v1.14.3", "velero-plugin-for-aws:v1.14.1"));
    const line = text.split("\n").findIndex((l) => l.includes("velero-plugin-for-aws:v1.14.3")) + 1;
    const result = await check(root);
    expect(result.exitCode).toBe(1);
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({
        rule: "velero-aws-plugin-r2",
        file: "kubernetes/infrastructure/velero.yaml",
        line,
      }),
    );
  });

  it("validates against the exact schema: an unknown field and an unknown kind are errors", async () => {
    const root = await copyCommittedTree();
    const cert = join(root, "kubernetes/infrastructure/cert-manager/certificate.yaml");
    await writeFile(cert, (await readFile(cert, "utf8")).replace("  secretName:", "  secretNam:"));
    const sc = join(root, "kubernetes/infrastructure/storage/storageclass.yaml");
    await writeFile(
      sc,
      (await readFile(sc, "utf8")).replace("apiVersion: storage.k8s.io/v1", "apiVersion: storage.k8s.io/v2"),
    );
    const result = await check(root);
    const rules = result.data.findings.map((f) => `${f.rule} ${f.file}`);
    expect(rules).toContain("schema kubernetes/infrastructure/cert-manager/certificate.yaml");
    expect(rules).toContain("schema-unknown-kind kubernetes/infrastructure/storage/storageclass.yaml");
    const schema = result.data.findings.find((f) => f.rule === "schema");
    expect(schema?.message).toMatch(/secretNam/);
    expect(schema?.line).toBeGreaterThan(1);
  });
});

describe("infra check and the rendered cluster values", () => {
  it("a value the tree needs is missing: one finding at the values file", async () => {
    const root = await copyCommittedTree();
    const values = join(root, "kubernetes/cluster-values/values.yaml");
    await writeFile(values, (await readFile(values, "utf8")).replace(/^ {2}txtOwnerId:.*\n/m, ""));
    const result = await check(root);
    expect(result.data.findings).toEqual([
      expect.objectContaining({
        rule: "cluster-values-missing",
        file: "kubernetes/cluster-values/values.yaml",
        message: expect.stringContaining("`txtOwnerId`"),
      }),
    ]);
  });

  it("the values file is missing: one finding that says to run `infra configure`", async () => {
    const root = await copyCommittedTree();
    await rm(join(root, "kubernetes/cluster-values/values.yaml"));
    const result = await check(root);
    expect(result.data.findings).toEqual([
      expect.objectContaining({
        rule: "cluster-values-missing",
        fix: expect.stringContaining("infra configure"),
      }),
    ]);
  });
});

describe("infra check on bad input: located errors, never a stack trace", () => {
  it("malformed YAML", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources: [cm.yaml]\n`,
      "kubernetes/app/cm.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n",
    });
    const result = await check(root);
    expect(result.exitCode).toBe(1);
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({
        rule: "yaml-syntax",
        file: "kubernetes/app/cm.yaml",
        line: expect.any(Number),
      }),
    );
  });

  it("a kustomization pointing at a missing file", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - cm.yaml\n  - gone.yaml\n`,
      "kubernetes/app/cm.yaml": CONFIGMAP("x"),
    });
    const result = await check(root);
    const finding = result.data.findings.find((f) => f.rule === "kustomize-build");
    expect(finding).toMatchObject({ file: "kubernetes/app/kustomization.yaml", line: 6 });
    expect(finding?.message).toMatch(/does not exist: .*gone\.yaml/);
  });

  it("a duplicated resource", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - a.yaml\n  - b.yaml\n`,
      "kubernetes/app/a.yaml": CONFIGMAP("same"),
      "kubernetes/app/b.yaml": CONFIGMAP("same"),
    });
    const result = await check(root);
    const finding = result.data.findings.find((f) => f.rule === "kustomize-build");
    expect(finding?.message).toMatch(/duplicated resource ConfigMap.*same/);
    expect(finding).toMatchObject({ file: "kubernetes/app/kustomization.yaml", line: 6 });
  });

  it("a KSOPS generator listing a missing file, and one without the exec function", async () => {
    const generator = (name: string, annotation: string) =>
      `---\napiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: ${name}\n${annotation}files:\n  - ./gone.sops.yaml\n`;
    const root = await writeRepo({
      "kubernetes/a/kustomization.yaml": `${KUSTOMIZATION}generators:\n  - gen.yaml\n`,
      "kubernetes/a/gen.yaml": generator(
        "missing-file",
        "  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ksops\n",
      ),
      "kubernetes/b/kustomization.yaml": `${KUSTOMIZATION}generators:\n  - gen.yaml\n`,
      "kubernetes/b/gen.yaml": generator("no-function", ""),
    });
    const result = await check(root);
    expect(result.exitCode).toBe(1);
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({
        rule: "ksops-generator",
        file: "kubernetes/a/gen.yaml",
        line: 11,
        message: expect.stringMatching(/gone\.sops\.yaml, which does not exist/),
      }),
    );
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({
        rule: "ksops-generator",
        file: "kubernetes/b/gen.yaml",
        message: expect.stringMatching(/exec: path: ksops/),
      }),
    );
  });

  it("schema sources that cannot be fetched: a preflight error with a hint, not a crash", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources: [cm.yaml]\n`,
      "kubernetes/app/cm.yaml": CONFIGMAP("x"),
    });
    const empty = await writeRepo({});
    cleanup.push(empty);
    const env = await isolatedEnv({
      INFRA_CACHE_DIR: join(empty, "cache"),
      GOMODCACHE: join(empty, "gomod"),
      GOPROXY: "off",
    });
    await expect(check(root, env)).rejects.toMatchObject({ code: "SCHEMAS_UNAVAILABLE", kind: "preflight" });
  });

  it("no kubernetes/ folder is a usage error with a hint", async () => {
    const root = await writeRepo({ "README.md": "x" });
    await expect(check(root)).rejects.toMatchObject({ code: "CHECK_NO_TREE", kind: "usage" });
  });
});

describe("KSOPS secrets are decrypted with a key the test generates", () => {
  async function secretRepo(): Promise<{ root: string; key: string; otherKey: string }> {
    const root = await writeRepo({
      "kubernetes/secrets/kustomization.yaml": `${KUSTOMIZATION}generators:\n  - secret-generator.yaml\n`,
      "kubernetes/secrets/secret-generator.yaml":
        "---\napiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: s\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ksops\nfiles:\n  - ./token.sops.yaml\n",
      // An integer in stringData is only visible (and invalid) once decrypted.
      "kubernetes/secrets/token.sops.yaml":
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: cert-manager\nstringData:\n  count: 42\n",
    });
    const key = join(root, "key.txt");
    const otherKey = join(root, "other.txt");
    await exec("age-keygen", ["-o", key]);
    await exec("age-keygen", ["-o", otherKey]);
    const recipient = /age1[0-9a-z]+/.exec(await readFile(key, "utf8"))?.[0] ?? "";
    await exec("sops", [
      "--config",
      "/dev/null",
      "encrypt",
      "--in-place",
      "--age",
      recipient,
      "--encrypted-regex",
      "^(data|stringData)$",
      join(root, "kubernetes/secrets/token.sops.yaml"),
    ]);
    expect(await readFile(join(root, "kubernetes/secrets/token.sops.yaml"), "utf8")).toMatch(
      /ENC\[AES256_GCM/,
    );
    return { root, key, otherKey };
  }

  it("decrypts with the right key and validates the decrypted Secret", async () => {
    const { root, key } = await secretRepo();
    const result = await check(root, await isolatedEnv({ SOPS_AGE_KEY_FILE: key }));
    const schema = result.data.findings.find((f) => f.rule === "schema");
    expect(schema?.file).toBe("kubernetes/secrets/token.sops.yaml");
    expect(schema?.message).toMatch(/stringData\/count/);
    expect(result.data.findings.filter((f) => f.rule === "sops-decrypt")).toEqual([]);
  });

  it("without a key: checks the encrypted structure and says it did not decrypt", async () => {
    const { root } = await secretRepo();
    const result = await check(root);
    expect(result.data.findings).toEqual([]);
    expect(result.data.notes.join("\n")).toMatch(/1 SOPS file\(s\) not decrypted/);
  });

  it("with a key that is not a recipient: a located sops-decrypt error", async () => {
    const { root, otherKey } = await secretRepo();
    const result = await check(root, await isolatedEnv({ SOPS_AGE_KEY_FILE: otherKey }));
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({ rule: "sops-decrypt", file: "kubernetes/secrets/token.sops.yaml" }),
    );
  });
});

describe("the CLI", () => {
  it("`infra check --json` prints the findings and exits 1 on errors", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - secret.yaml\n`,
      "kubernetes/app/secret.yaml":
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n",
    });
    cleanup.push(root);
    const run = await exec(
      join(PACKAGE_ROOT, "node_modules/.bin/tsx"),
      [join(PACKAGE_ROOT, "src/bin.ts"), "check", "--json"],
      { cwd: root, env: await isolatedEnv(), check: false },
    );
    expect(run.exitCode).toBe(1);
    const data = JSON.parse(run.stdout) as {
      ok: boolean;
      findings: { rule: string; file: string; line: number }[];
    };
    expect(data.ok).toBe(false);
    expect(data.findings).toContainEqual(
      expect.objectContaining({ rule: "secret-plaintext", file: "kubernetes/app/secret.yaml", line: 6 }),
    );
  });
});
