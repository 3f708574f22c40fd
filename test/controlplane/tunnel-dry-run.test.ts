/**
 * The GitOps tree in ingress mode `tunnel` against the real kube-apiserver: the tree with the cluster
 * values `infra configure` renders for a tunnel-mode cluster.yaml is built with kustomize and every
 * object — the infrastructure Applications (cloudflared with its wave, external-dns with the tunnel's
 * exclusions), cloudflared's Namespace, Deployment and PodDisruptionBudget, and the token Secret as
 * `infra tunnel token` writes it (here in plaintext, with a token generated here) — passes a
 * server-side dry run with our CRDs installed. The Namespace is created for real with its Pod Security
 * labels, so the API server's PodSecurity admission judges cloudflared's pod against the `restricted`
 * profile: no warning for the Deployment, and its pod admitted.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { validateConfigText } from "../../src/config/load.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { renderAll } from "../../src/render/render.js";
import { tokenSecretPlaintext } from "../../src/tunnel/secret.js";
import { tunnelToken } from "../helpers/cloudflare-fake.js";
import { installCrds } from "./crds.js";
import { type ControlPlane, startControlPlane } from "./harness.js";

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
};

let plane: ControlPlane;
let tree = "";
let failed = false;

beforeAll(async () => {
  plane = await startControlPlane({ velero: false });
  await installCrds(plane);
  tree = await mkdtemp(join(tmpdir(), "infra-tunnel-tree-"));
  await cp(join(PACKAGE_ROOT, "kubernetes"), join(tree, "kubernetes"), { recursive: true });
  const fixture = join(PACKAGE_ROOT, "test", "fixtures", "config", "ingress", "valid", "tunnel.yaml");
  const { config } = validateConfigText(readFileSync(fixture, "utf8"), fixture);
  if (!config) throw new Error("the tunnel fixture does not validate");
  for (const file of renderAll(config, "cluster.yaml")) {
    if (!file.path.startsWith("kubernetes/")) continue;
    await mkdir(dirname(join(tree, file.path)), { recursive: true });
    await writeFile(join(tree, file.path), file.content);
  }
}, 600_000);

afterEach((context) => {
  if (context.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await plane?.stop(failed);
  if (tree) await rm(tree, { recursive: true, force: true });
});

async function build(dir: string): Promise<K8sObject[]> {
  const result = await exec("kubectl", ["kustomize", join(tree, dir)]);
  return parseAllDocuments(result.stdout).map((d) => d.toJS() as K8sObject);
}

/** The cloudflared folder's plain manifests (its KSOPS generator needs Argo CD's repo-server). */
function cloudflaredManifests(): K8sObject[] {
  return ["namespace.yaml", "deployment.yaml", "poddisruptionbudget.yaml"].flatMap((file) =>
    parseAllDocuments(readFileSync(join(tree, "kubernetes/infrastructure/cloudflared", file), "utf8")).map(
      (d) => d.toJS() as K8sObject,
    ),
  );
}

async function dryRun(object: unknown): Promise<{ code: number; stderr: string }> {
  const path = join(plane.dir, `object-${randomUUID()}.json`);
  await writeFile(path, JSON.stringify(object));
  const result = await exec(
    "kubectl",
    ["--kubeconfig", plane.kubeconfig, "apply", "--dry-run=server", "-f", path],
    {
      check: false,
    },
  );
  return { code: result.exitCode, stderr: result.stderr.trim() };
}

describe("the tree in tunnel mode against the real API server", () => {
  it("every infrastructure Application, cloudflared's objects and its token Secret pass a server-side dry run", async () => {
    const infrastructure = await build("kubernetes/infrastructure");
    const cloudflaredApp = infrastructure.find(
      (o) => o.kind === "Application" && o.metadata.name === "cloudflared",
    );
    expect(cloudflaredApp).toBeDefined();
    const externalDns = infrastructure.find(
      (o) => o.kind === "Application" && o.metadata.name === "external-dns",
    ) as { spec: { source: { helm: { valuesObject: { excludeDomains?: string[] } } } } } | undefined;
    expect(externalDns?.spec.source.helm.valuesObject.excludeDomains).toEqual([".example.net"]);

    await plane.kubectl(["create", "namespace", "argocd"]).catch(() => undefined);
    const namespace = cloudflaredManifests().find((o) => o.kind === "Namespace");
    await plane.apply(namespace);
    const secret = parse(tokenSecretPlaintext(tunnelToken("fedcba9876543210fedcba9876543210")));
    const objects = [
      ...infrastructure,
      ...cloudflaredManifests().filter((o) => o.kind !== "Namespace"),
      secret,
    ];
    const failures: string[] = [];
    for (const object of objects) {
      const result = await dryRun(object);
      if (result.code !== 0) failures.push(`${object.kind}/${object.metadata.name}: ${result.stderr}`);
      if (/would violate PodSecurity/.test(result.stderr)) failures.push(`${object.kind}: ${result.stderr}`);
    }
    expect(failures, failures.join("\n")).toEqual([]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      expect.arrayContaining([
        "Application/cloudflared",
        "Application/external-dns",
        "Deployment/cloudflared",
        "PodDisruptionBudget/cloudflared",
        "Secret/cloudflared-tunnel-token",
      ]),
    );
  });

  it("cloudflared's pod is admitted by PodSecurity `restricted` in its namespace; a root pod is not", async () => {
    const deployment = cloudflaredManifests().find((o) => o.kind === "Deployment") as
      | (K8sObject & { spec: { template: { metadata: object; spec: Record<string, unknown> } } })
      | undefined;
    if (!deployment) throw new Error("no Deployment");
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "cloudflared-probe", namespace: "cloudflared", ...deployment.spec.template.metadata },
      spec: deployment.spec.template.spec,
    };
    const admitted = await dryRun(pod);
    expect(admitted.code, admitted.stderr).toBe(0);
    const root = structuredClone(pod) as typeof pod & { spec: { securityContext: Record<string, unknown> } };
    root.spec.securityContext = { ...root.spec.securityContext, runAsNonRoot: false, runAsUser: 0 };
    const refused = await dryRun(root);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
  });
});
