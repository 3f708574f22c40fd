/**
 * The CRDs of the components we deploy, from the same pinned upstream sources `infra check` uses
 * (src/check/schemas/sources.yaml: Argo CD, cert-manager, Gateway API, Velero, K3s' helm-controller),
 * installed into a test control plane.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { exec } from "../../src/adapters/exec.js";
import { loadSchemaSources } from "../../src/check/schema-cache.js";
import type { ControlPlane } from "./harness.js";

export function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) && !name.endsWith(".sops.yaml") ? [path] : [];
  });
}

async function moduleDir(module: string, version: string): Promise<string> {
  const out = await exec("go", ["mod", "download", "-json", `${module}@${version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOFLAGS: "-mod=mod" },
  });
  return (JSON.parse(out.stdout) as { Dir: string }).Dir;
}

async function crdDocuments(): Promise<string[]> {
  const sources = await loadSchemaSources();
  const docs: string[] = [];
  for (const source of sources.crds) {
    const dir = await moduleDir(source.module, source.version);
    for (const path of source.paths) {
      const full = join(dir, path);
      const files = statSync(full).isDirectory() ? yamlFiles(full) : [full];
      for (const file of files) {
        for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
          const value = doc.toJS() as { kind?: string } | null;
          if (value?.kind === "CustomResourceDefinition") docs.push(JSON.stringify(value));
        }
      }
    }
  }
  return docs;
}

/** Applies every CRD and waits until the API server serves them. */
export async function installCrds(plane: ControlPlane): Promise<void> {
  const crds = await crdDocuments();
  const file = join(plane.dir, "crds.json");
  await writeFile(
    file,
    JSON.stringify({ apiVersion: "v1", kind: "List", items: crds.map((c) => JSON.parse(c)) }),
  );
  await plane.kubectl(["apply", "--server-side", "-f", file]);
  await plane.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
}
