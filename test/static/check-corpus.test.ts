/**
 * `infra check --path` over the corpus of realistic GitOps trees in test/fixtures/check/corpus (written for
 * this project in the styles of the common homelab layouts: Flux, Argo CD app of apps, Helm values files).
 * Each is checked as a repository of its own (a Git clone with its origin URL): no false alarms. Then each
 * is broken the way users break such trees, and the check must say so at the right place.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import { checkCommand } from "../../src/check/check-command.js";
import type { Finding } from "../../src/check/findings.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { context, isolatedEnv } from "./check-helpers.js";

const CORPUS = join(PACKAGE_ROOT, "test/fixtures/check/corpus");
const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A clone-like copy of a corpus tree: its own Git repository with the origin its Applications follow. */
async function repository(name: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), `corpus-${name}-`));
  cleanup.push(root);
  await cp(join(CORPUS, name), root, { recursive: true });
  const { origin } = JSON.parse(await readFile(join(root, ".corpus.json"), "utf8")) as { origin: string };
  await exec("git", ["init", "-q", "."], { cwd: root });
  await exec("git", ["remote", "add", "origin", origin], { cwd: root });
  return root;
}

async function check(root: string) {
  return checkCommand(context(root, await isolatedEnv()), { path: "." });
}

/** Warnings the issue asks for on kinds no pinned source has a schema of; every other finding is an alarm. */
const alarms = (findings: Finding[]) => findings.filter((f) => f.rule !== "schema-not-validated");

const TREES = ["flux-home", "argocd-app-of-apps", "helm-values"];

describe("infra check --path on the corpus: no false alarms", () => {
  for (const name of TREES) {
    it(name, async () => {
      const result = await check(await repository(name));
      expect(alarms(result.data.findings)).toEqual([]);
      expect(result.exitCode).toBe(0);
      expect(result.data.resources).toBeGreaterThan(10);
      expect(result.data.path).toBe("");
    });
  }

  it("kinds without a pinned schema are named, as warnings", async () => {
    const result = await check(await repository("flux-home"));
    const unvalidated = result.data.findings.filter((f) => f.rule === "schema-not-validated");
    expect(unvalidated.length).toBeGreaterThan(0);
    for (const finding of unvalidated) {
      expect(finding.severity).toBe("warning");
      expect(finding.message).toMatch(/helm\.toolkit\.fluxcd\.io\/v2 HelmRelease is known/);
    }
  });
});

interface Breakage {
  file: string;
  from: string;
  to: string;
  rule: string;
  /** The finding's file, when not the edited one. */
  at?: string;
  /** Other rules the same breakage rightly trips. */
  also?: string[];
}

/** Ways users break such trees, each caught at the file that is wrong. */
const BREAKAGES: Record<string, Breakage[]> = {
  "flux-home": [
    {
      file: "kubernetes/apps/whoami/httproute.yaml",
      from: "sectionName: websecure",
      to: "sectionName: https",
      rule: "route-parent",
    },
    {
      file: "kubernetes/apps/whoami/httproute.yaml",
      from: "port: 80",
      to: "port: 8080",
      rule: "route-backend",
    },
    {
      file: "kubernetes/apps/whoami/httproute.yaml",
      from: "whoami.home.example.net",
      to: "whoami.example.org",
      rule: "route-parent",
    },
    {
      file: "kubernetes/apps/whoami/namespace.yaml",
      from: 'expose: "true"',
      to: 'expose: "false"',
      rule: "route-parent",
      at: "kubernetes/apps/whoami/httproute.yaml",
    },
    {
      file: "kubernetes/infrastructure/traefik/helmrelease.yaml",
      from: "port: 443",
      to: "port: 8443",
      rule: "gateway-listener-port",
      at: "kubernetes/infrastructure/traefik/gateway.yaml",
    },
    {
      file: "kubernetes/infrastructure/cert-manager/referencegrant.yaml",
      from: "namespace: traefik",
      to: "namespace: default",
      rule: "gateway-cert-namespace",
      at: "kubernetes/infrastructure/traefik/gateway.yaml",
    },
    {
      file: "kubernetes/infrastructure/cert-manager/certificate.yaml",
      from: '"*.home.example.net"',
      to: '"*.lab.example.net"',
      rule: "certificate-hostnames",
    },
    {
      file: "kubernetes/infrastructure/cert-manager/cloudflare-token.yaml",
      from: "name: cloudflare-token\n  data",
      to: "name: cloudflare-api\n  data",
      rule: "issuer-secret-namespace",
      at: "kubernetes/infrastructure/cert-manager/clusterissuer.yaml",
    },
    {
      file: "kubernetes/infrastructure/external-secrets/helmrelease.yaml",
      from: "version: 1.3.2",
      to: 'version: "*"',
      rule: "remote-source-pinned",
    },
    {
      file: "clusters/main/apps.yaml",
      from: "path: ./kubernetes/apps",
      to: "path: ./kubernetes/aps",
      rule: "argocd-app-path",
      also: ["orphan-folder"],
    },
    {
      file: "kubernetes/apps/kustomization.yaml",
      from: "  - whoami\n",
      to: "",
      rule: "orphan-folder",
      at: "kubernetes/apps/whoami/kustomization.yaml",
    },
  ],
  "argocd-app-of-apps": [
    {
      file: "apps/dashboards.yaml",
      from: "targetRevision: v2.3.0",
      to: "targetRevision: HEAD",
      rule: "remote-source-pinned",
    },
    {
      file: "apps/whoami.yaml",
      from: "path: workloads/whoami",
      to: "path: workloads/who-am-i",
      rule: "argocd-app-path",
      also: ["orphan-folder"],
    },
    {
      file: "workloads/whoami/httproute.yaml",
      from: "name: lab-whoami",
      to: "name: whoami",
      rule: "route-backend",
    },
    {
      file: "workloads/whoami/deployment.yaml",
      from: "runAsNonRoot: true\n        runAsUser: 65532",
      to: "runAsUser: 0",
      rule: "workload-root",
    },
    {
      file: "workloads/whoami/deployment.yaml",
      from: "traefik/whoami:v1.11.0",
      to: "traefik/whoami:latest",
      rule: "image-tag",
    },
    {
      file: "platform/traefik/middleware.yaml",
      from: "traefik.io/v1alpha1",
      to: "traefik.containo.us/v1alpha1",
      rule: "api-removed",
    },
    {
      file: "platform/traefik/kustomization.yaml",
      from: "  - dashboard.yaml\n",
      to: "",
      rule: "orphan-manifest",
      at: "platform/traefik/dashboard.yaml",
    },
  ],
  "helm-values": [
    {
      file: "values/velero.yaml",
      from: 'schedule: "0 2 * * *"',
      to: 'schedule: "0 0 2 * * *"',
      rule: "velero-schedule",
      at: "argocd/applications/velero.yaml",
    },
    {
      file: "values/velero.yaml",
      from: "ttl: 2160h",
      to: "ttl: 90d",
      rule: "velero-schedule",
      at: "argocd/applications/velero.yaml",
    },
    {
      file: "values/velero.yaml",
      from: "upgradeCRDs: false",
      to: "upgradeCRDs: true",
      rule: "velero-upgrade-crds",
      at: "argocd/applications/velero.yaml",
    },
    {
      file: "apps/paperless/service.yaml",
      from: "app: paperless",
      to: "app: paperles",
      rule: "service-selector",
    },
    { file: "apps/paperless/pdb.yaml", from: "policy/v1", to: "policy/v1beta1", rule: "api-removed" },
    { file: "apps/uptime/deployment.yaml", from: "replicas: 1", to: 'replicas: "1"', rule: "schema" },
  ],
};

describe("infra check --path on the corpus, broken: located findings", () => {
  for (const [name, breakages] of Object.entries(BREAKAGES)) {
    for (const b of breakages) {
      it(`${name}: ${b.file}: ${b.from.split("\n")[0]} -> ${b.to.split("\n")[0] || "(removed)"} is ${b.rule}`, async () => {
        const root = await repository(name);
        const text = await readFile(join(root, b.file), "utf8");
        expect(text, "the corpus still has the text to break").toContain(b.from);
        await writeFile(join(root, b.file), text.replace(b.from, b.to));
        const result = await check(root);
        const found = result.data.findings.filter((f) => f.rule === b.rule);
        expect(found, JSON.stringify(result.data.findings, null, 2)).toContainEqual(
          expect.objectContaining({ file: b.at ?? b.file, line: expect.any(Number) }),
        );
        const expected = [b.rule, ...(b.also ?? [])];
        expect(alarms(result.data.findings).filter((f) => !expected.includes(f.rule))).toEqual([]);
      });
    }
  }
});
