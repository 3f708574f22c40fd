import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
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
    expect(result.human(result.data)).toMatch(/^✓ kubernetes: \d+ kustomizations built/m);
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
    expect(finding?.message).toMatch(
      /ConfigMap same is declared 2 times: kubernetes\/app\/a\.yaml:2, kubernetes\/app\/b\.yaml:2 \(kustomize: .*already registered id/,
    );
    expect(finding).toMatchObject({ file: "kubernetes/app/b.yaml", line: 2 });
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

describe("locations through kustomize: source file and line, repository-relative", () => {
  it("namePrefix: a finding keeps its file and line, and the Renovate-annotation check still runs", async () => {
    const root = await copyCommittedTree();
    const kustomization = join(root, "kubernetes/apps/_template/kustomization.yaml");
    await writeFile(
      kustomization,
      (await readFile(kustomization, "utf8")).replace(
        "namespace: app-template\n",
        "namespace: app-template\nnamePrefix: team-\n",
      ),
    );
    const deployment = join(root, "kubernetes/apps/_template/deployment.yaml");
    const text = await readFile(deployment, "utf8");
    await writeFile(
      deployment,
      text.replace("          # renovate: datasource=docker depName=traefik/whoami\n", ""),
    );
    const result = await check(root);
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({
        rule: "pinned-version",
        file: "kubernetes/apps/_template/deployment.yaml",
        line: text.split("\n").findIndex((l) => l.includes("image: traefik/whoami")),
        message: expect.stringContaining("has no Renovate annotation"),
      }),
    );
  });

  it("a replacement target without its field: the manifest and field, kustomize's words kept, and its rules still run", async () => {
    const root = await copyCommittedTree();
    const issuers = join(root, "kubernetes/infrastructure/cert-manager/clusterissuers.yaml");
    const text = await readFile(issuers, "utf8");
    // The staging issuer loses the selector the domain replacement writes into, and names a token Secret
    // nothing makes: the build fails, and the issuer rule must still see the issuer.
    const broken = text
      .replace(
        "      - selector:\n          dnsZones:\n            - set-by-cluster-values # domain\n        dns01:",
        "      - dns01:",
      )
      .replace("name: cloudflare-api-token", "name: cloudflare-token");
    await writeFile(issuers, broken);
    const result = await check(root);
    const build = result.data.findings.find((f) => f.rule === "kustomize-build");
    expect(build).toMatchObject({ file: "kubernetes/infrastructure/cert-manager/clusterissuers.yaml" });
    expect(build?.line).toBeGreaterThan(1);
    expect(build?.message).toMatch(
      /ClusterIssuer letsencrypt-staging has no spec\.acme\.solvers\.0\.selector\.dnsZones\.0/,
    );
    expect(build?.message).toMatch(
      /kustomize: .*unable to find field "spec\.acme\.solvers\.0\.selector\.dnsZones\.0" in replacement target/,
    );
    expect(result.data.findings).toContainEqual(
      expect.objectContaining({
        rule: "issuer-secret-namespace",
        file: "kubernetes/infrastructure/cert-manager/clusterissuers.yaml",
      }),
    );
  });

  it("a duplicate inside one file names the file and both lines", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - cms.yaml\n`,
      "kubernetes/app/cms.yaml": `${CONFIGMAP("same")}${CONFIGMAP("same")}`,
    });
    const result = await check(root);
    const finding = result.data.findings.find((f) => f.rule === "kustomize-build");
    expect(finding).toMatchObject({ file: "kubernetes/app/cms.yaml", line: 9 });
    expect(finding?.message).toMatch(
      /ConfigMap same is declared 2 times in kubernetes\/app\/cms\.yaml \(lines 2, 9\)/,
    );
    expect(finding?.message).toMatch(/kustomize: .*already registered id/);
  });

  it("an API Kubernetes removed: the version that removed it and the replacement, not an unknown kind", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - hpa.yaml\n`,
      "kubernetes/app/hpa.yaml":
        "---\napiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 3\n",
    });
    const result = await check(root);
    expect(result.data.findings).toEqual([
      expect.objectContaining({
        rule: "api-removed",
        severity: "error",
        file: "kubernetes/app/hpa.yaml",
        line: 2,
        message: expect.stringMatching(
          /removed in Kubernetes 1\.26 \(this cluster runs 1\.\d+\): use autoscaling\/v2/,
        ),
      }),
    ]);
  });

  it("schema errors keep every path kubeconform reports", async () => {
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - deployment.yaml\n`,
      "kubernetes/app/deployment.yaml": [
        "---",
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: web",
        "spec:",
        '  replicas: "2"',
        "  selector: {matchLabels: {app: web}}",
        "  template:",
        "    metadata: {labels: {app: web}}",
        "    spec:",
        "      containers:",
        "        - name: web",
        "          image: nginx:1.27.0",
        "          ports:",
        "            - containerPort: [80]",
        "",
      ].join("\n"),
    });
    const result = await check(root);
    const schema = result.data.findings.filter((f) => f.rule === "schema");
    expect(schema.map((f) => f.line ?? 0).sort((a, b) => a - b)).toEqual([7, 16]);
    expect(schema.map((f) => f.message).join("\n")).toMatch(/\/spec\/replicas/);
    expect(schema.map((f) => f.message).join("\n")).toMatch(/containerPort/);
  });
});

describe("never a crash: hostile input is a located error", () => {
  it("an alias bomb, binary junk, invalid UTF-8 and a huge file", async () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const n of ["b", "c", "d", "e", "f", "g"]) {
      const prev = String.fromCharCode(n.charCodeAt(0) - 1);
      bomb.push(`${n}: &${n} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const root = await writeRepo({
      "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - cm.yaml\n`,
      "kubernetes/app/cm.yaml": CONFIGMAP("ok"),
      "kubernetes/app/anchors.yaml": `---\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: anchors}\ndata:\n  base: &v "1"\n${Array.from({ length: 150 }, (_, i) => `  k${i}: *v`).join("\n")}\n`,
      "kubernetes/junk/bomb.yaml": `${bomb.join("\n")}\nz: *g\n`,
    });
    await writeFile(
      join(root, "kubernetes/junk/binary.yaml"),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0a, 0x00, 0x01]),
    );
    await writeFile(
      join(root, "kubernetes/junk/latin1.yaml"),
      Buffer.concat([Buffer.from("a: 1\nname: caf"), Buffer.from([0xe9]), Buffer.from("\n")]),
    );
    await writeFile(join(root, "kubernetes/junk/huge.yaml"), Buffer.alloc(11 * 1024 * 1024, "#"));
    const result = await check(root);
    expect(result.exitCode).toBe(1);
    const byRule = Object.fromEntries(result.data.findings.map((f) => [f.rule, f]));
    expect(byRule["yaml-aliases"]).toMatchObject({ file: "kubernetes/junk/bomb.yaml", line: 1 });
    expect(byRule["file-not-text"]).toMatchObject({ file: "kubernetes/junk/binary.yaml", line: 2 });
    expect(byRule["file-encoding"]).toMatchObject({ file: "kubernetes/junk/latin1.yaml", line: 2 });
    expect(byRule["file-too-large"]).toMatchObject({ file: "kubernetes/junk/huge.yaml", line: 1 });
    // An anchor used 150 times is fine.
    expect(
      result.data.findings.filter((f) => f.file === "kubernetes/app/anchors.yaml" && f.severity === "error"),
    ).toEqual([]);
  });

  it("a bug in a rule exits 70 (internal), not 1 (findings), and the other rules still report", async () => {
    const { RULES } = await import("../../src/check/rules/index.js");
    const rule = RULES.find((r) => r.id === "route-parent");
    if (!rule) throw new Error("no rule route-parent");
    const spy = vi.spyOn(rule, "check").mockImplementation(() => {
      throw new TypeError("simulated bug");
    });
    try {
      const root = await writeRepo({
        "kubernetes/app/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - secret.yaml\n`,
        "kubernetes/app/secret.yaml":
          "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n",
      });
      const result = await check(root);
      expect(result.exitCode).toBe(70);
      expect(result.data.ok).toBe(false);
      expect(result.data.notes.join("\n")).toMatch(
        /internal error \(please report it\): rule route-parent failed: TypeError: simulated bug/,
      );
      expect(result.data.findings).toContainEqual(expect.objectContaining({ rule: "secret-plaintext" }));
    } finally {
      spy.mockRestore();
    }
  });
});

describe("infra check --path", () => {
  it("checks any folder, with paths relative to its repository", async () => {
    const root = await writeRepo({
      "deploy/base/kustomization.yaml": `${KUSTOMIZATION}resources:\n  - cm.yaml\n  - gone.yaml\n`,
      "deploy/base/cm.yaml": CONFIGMAP("x"),
    });
    const result = await checkCommand(context(root, await isolatedEnv()), { path: "deploy" });
    cleanup.push(root);
    const finding = result.data.findings.find((f) => f.rule === "kustomize-build");
    expect(finding).toMatchObject({ file: "deploy/base/kustomization.yaml", line: 6 });
    expect(finding?.message).toMatch(/does not exist: deploy\/base\/gone\.yaml/);
    expect(finding?.message).not.toMatch(/ \/deploy/);
  });

  it("a folder that does not exist is a usage error", async () => {
    const root = await writeRepo({ "README.md": "x" });
    cleanup.push(root);
    await expect(checkCommand(context(root, await isolatedEnv()), { path: "nowhere" })).rejects.toMatchObject(
      {
        code: "CHECK_NO_TREE",
        kind: "usage",
      },
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
