/**
 * Server-side dry run of the manifests in kubernetes/ against the real kube-apiserver, with the CRDs of
 * the components we deploy installed from the same pinned upstream sources `infra check` uses
 * (src/check/schemas/sources.yaml: Argo CD, cert-manager, Gateway API, Velero, K3s' helm-controller).
 * The API server then applies its real validation, defaulting and CRD schemas to every object.
 *
 * Every kustomization is built exactly as `infra check` builds it (src/check/build.ts: the pinned
 * kustomize, each KSOPS generator replaced by the Secrets it generates, their values masked); a build
 * that fails fails this test with kustomize's message. Folders without a kustomization are applied
 * file by file, as Argo CD applies a plain directory.
 *
 * Not dry-run here, because they need an in-cluster controller or plugin first:
 * - kustomize's own Kustomization/Component files (build inputs, not objects);
 * - system-upgrade-controller `Plan`s (its CRD is installed by the controller; no CRD file is published
 *   as a Go module, `infra check` validates them against a local schema instead).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exec } from "../../src/adapters/exec.js";
import { buildAll } from "../../src/check/build.js";
import { loadSources } from "../../src/check/source.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { copyRepository } from "../helpers/repo-copy.js";
import { installCrds } from "./crds.js";
import { type ControlPlane, startControlPlane } from "./harness.js";

const NOT_OBJECTS = new Set(["Kustomization", "Component", "ksops"]);
const NEEDS_CONTROLLER = new Set(["upgrade.cattle.io/v1/Plan"]);

let plane: ControlPlane;
let failed = false;

beforeAll(async () => {
  plane = await startControlPlane({ velero: false });
  await installCrds(plane);
});

afterEach((context) => {
  if (context.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await plane?.stop(failed);
});

type Json = Record<string, unknown>;

/**
 * What Argo CD would apply from the tree at `root`: each kustomization's build (cluster values
 * substituted) and, for a folder without a kustomization, its files as they are. A kustomization
 * that does not build is an error with kustomize's own message, at its file and line.
 */
async function treeObjects(root: string) {
  const sources = await loadSources(root);
  const built = await buildAll({ root, sources, env: process.env });
  const errors = [...sources.findings, ...built.findings, ...built.builds.flatMap((b) => b.findings)]
    .filter((f) => f.severity === "error")
    .map((f) => `${f.file}:${f.line}: ${f.message}`);
  const objects: { file: string; object: Json }[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (file: string, object: Json) => {
    if (typeof object.kind !== "string" || typeof object.apiVersion !== "string") return;
    const type = `${object.apiVersion}/${object.kind}`;
    if (NOT_OBJECTS.has(object.kind) || object.apiVersion.startsWith("kustomize.config.k8s.io")) return;
    const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
    const key = `${type}/${meta.namespace ?? ""}/${meta.name ?? ""}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (NEEDS_CONTROLLER.has(type)) skipped.push(`${file}: ${type}`);
    else objects.push({ file, object });
  };
  for (const build of built.builds)
    for (const resource of build.resources) add(`${build.dir}/ (kustomize)`, resource.object);
  const hasKustomization = (dir: string) =>
    ["kustomization.yaml", "kustomization.yml", "Kustomization"].some((n) => existsSync(join(root, dir, n)));
  for (const file of sources.files) {
    if (file.role !== "manifest" || hasKustomization(dirname(file.file))) continue;
    for (const doc of file.docs)
      if (doc.object && typeof doc.object === "object") add(file.file, doc.object as Json);
  }
  return { errors, builds: built.builds.length, objects, skipped };
}

describe("kubernetes/ manifests", () => {
  it("build with kustomize and pass a server-side dry run against the real API server with our CRDs", async () => {
    const { errors, builds, objects, skipped } = await treeObjects(PACKAGE_ROOT);
    // a kustomization that does not build fails here, never falls back to its raw files
    expect(errors, errors.join("\n")).toEqual([]);
    expect(builds).toBeGreaterThan(5);
    expect(objects.length).toBeGreaterThan(20);

    // the namespaces the objects live in exist in a real cluster (bootstrap creates them)
    const namespaces = new Set<string>();
    for (const { object } of objects) {
      const ns = (object.metadata as { namespace?: string } | undefined)?.namespace;
      if (ns) namespaces.add(ns);
    }
    for (const ns of namespaces) {
      const result = await exec("kubectl", ["--kubeconfig", plane.kubeconfig, "create", "namespace", ns], {
        check: false,
      });
      // only "exists already" is fine; anything else is a failure of its own, not a later confusing one
      if (result.exitCode !== 0 && !/AlreadyExists/.test(result.stderr))
        throw new Error(`creating namespace ${ns} failed: ${result.stderr.trim()}`);
    }

    const failures: string[] = [];
    for (const { file, object } of objects) {
      const path = join(plane.dir, "object.json");
      await writeFile(path, JSON.stringify(object));
      const result = await exec(
        "kubectl",
        ["--kubeconfig", plane.kubeconfig, "apply", "--dry-run=server", "-f", path],
        { check: false },
      );
      if (result.exitCode !== 0) failures.push(`${file}: ${object.kind}: ${result.stderr.trim()}`);
    }
    expect(failures, failures.join("\n")).toEqual([]);
    expect(skipped.length).toBeLessThan(objects.length);
  });

  it("a kustomization that does not build is reported with kustomize's message, at its file and line", async () => {
    const copy = await copyRepository();
    try {
      const file = join(copy.dir, "kubernetes/infrastructure/kustomization.yaml");
      const text = readFileSync(file, "utf8");
      writeFileSync(file, text.replace("  - velero.yaml\n", "  - velero.yaml\n  - missing.yaml\n"));
      const line = text.split("\n").indexOf("  - velero.yaml") + 2;
      const { errors } = await treeObjects(copy.dir);
      expect(errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^kubernetes/infrastructure/kustomization\\.yaml:${line}: kustomize build kubernetes/infrastructure failed: .*missing\\.yaml`,
          ),
        ),
      ]);
    } finally {
      await copy.remove();
    }
  });
});
