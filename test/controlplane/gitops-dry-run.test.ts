/**
 * Server-side dry run of the manifests in kubernetes/ against the real kube-apiserver, with the CRDs of
 * the components we deploy installed from the same pinned upstream sources `infra check` uses
 * (src/check/schemas/sources.yaml: Argo CD, cert-manager, Gateway API, Velero, K3s' helm-controller).
 * The API server then applies its real validation, defaulting and CRD schemas to every object.
 *
 * Not dry-run here, because they need an in-cluster controller or plugin first:
 * - `*.sops.yaml` Secrets (decrypted by KSOPS inside Argo CD) and the KSOPS generator files;
 * - kustomize's own Kustomization/Component files (build inputs, not objects);
 * - system-upgrade-controller `Plan`s (its CRD is installed by the controller; no CRD file is published
 *   as a Go module, `infra check` validates them against a local schema instead).
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { installCrds, yamlFiles } from "./crds.js";
import { type ControlPlane, startControlPlane } from "./harness.js";

const NOT_OBJECTS = new Set(["Kustomization", "Component", "ksops"]);
const NEEDS_CONTROLLER = new Set(["upgrade.cattle.io/v1/Plan"]);

let plane: ControlPlane;
let failed = false;

beforeAll(async () => {
  plane = await startControlPlane({ velero: false });
  await installCrds(plane);
}, 600_000);

afterEach((context) => {
  if (context.task.result?.state === "fail") failed = true;
});

afterAll(async () => {
  await plane?.stop(failed);
});

describe("kubernetes/ manifests", () => {
  it("pass a server-side dry run against the real API server with our CRDs installed", async () => {
    const objects: { file: string; object: Record<string, unknown> }[] = [];
    const skipped: string[] = [];
    const seen = new Set<string>();
    const add = (file: string, object: Record<string, unknown> | null) => {
      if (!object || typeof object.kind !== "string" || typeof object.apiVersion !== "string") return;
      const type = `${object.apiVersion}/${object.kind}`;
      if (NOT_OBJECTS.has(object.kind) || String(object.apiVersion).startsWith("kustomize.config.k8s.io"))
        return;
      const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
      const key = `${type}/${meta.namespace ?? ""}/${meta.name ?? ""}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (NEEDS_CONTROLLER.has(type)) skipped.push(`${file}: ${type}`);
      else objects.push({ file, object });
    };
    // what Argo CD applies: the kustomize build of each folder (cluster values substituted); folders
    // whose build needs KSOPS (secret generators) fall back to their plain files
    const dirs = [...new Set(yamlFiles(join(PACKAGE_ROOT, "kubernetes")).map((f) => join(f, "..")))].sort();
    const built = new Set<string>();
    for (const dir of dirs) {
      if (!yamlFiles(dir).some((f) => f.endsWith("kustomization.yaml"))) continue;
      const result = await exec("kubectl", ["kustomize", dir], { check: false });
      if (result.exitCode !== 0) continue;
      built.add(dir);
      for (const doc of parseAllDocuments(result.stdout))
        add(`${relative(PACKAGE_ROOT, dir)}/ (kustomize)`, doc.toJS());
    }
    for (const file of yamlFiles(join(PACKAGE_ROOT, "kubernetes"))) {
      if (built.has(join(file, ".."))) continue;
      for (const doc of parseAllDocuments(readFileSync(file, "utf8")))
        add(relative(PACKAGE_ROOT, file), doc.toJS());
    }
    expect(objects.length).toBeGreaterThan(20);
    // namespaces the objects live in exist in a real cluster (bootstrap creates them)
    const namespaces = new Set<string>();
    for (const { object } of objects) {
      const ns = (object.metadata as { namespace?: string } | undefined)?.namespace;
      if (ns) namespaces.add(ns);
    }
    for (const ns of namespaces) {
      await plane.kubectl(["create", "namespace", ns]).catch(() => undefined);
    }
    const failures: string[] = [];
    for (const { file, object } of objects) {
      const path = join(plane.dir, "object.json");
      await writeFile(path, JSON.stringify(object));
      const result = await exec(
        "kubectl",
        ["--kubeconfig", plane.kubeconfig, "apply", "--dry-run=server", "-f", path],
        {
          check: false,
        },
      );
      if (result.exitCode !== 0) failures.push(`${file}: ${object.kind}: ${result.stderr.trim()}`);
    }
    expect(failures, failures.join("\n")).toEqual([]);
    expect(skipped.length).toBeLessThan(objects.length);
  });
});
