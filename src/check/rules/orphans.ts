/**
 * Files and folders nothing deploys: a manifest beside a kustomization that does not list it, a loose
 * manifest in no deployed folder, a kustomization folder no Application, Flux Kustomization or other
 * kustomization reaches. Warnings: the file may be a draft. Folders whose name starts with `_` are
 * templates (apps/_template) and files that deploy others (bootstrap Applications, Flux's sync) are
 * applied by hand, so neither is reported.
 */
import { type Deployment, deployments, deploysFolder } from "../deploys.js";
import type { Finding } from "../findings.js";
import { closure, kustomizationsByDir } from "../kustomizations.js";
import { get, list, resourcesFromSources, type Tree } from "../resources.js";
import { isObject, kindOf, type SourceFile } from "../source.js";
import type { Rule } from "./rule.js";

/** Kinds that deploy other folders: files holding them are entry points, applied by hand. */
const DEPLOYERS = new Set([
  "Application",
  "ApplicationSet",
  "AppProject",
  "Kustomization",
  "GitRepository",
  "OCIRepository",
]);

export function isTemplate(file: string): boolean {
  return file.split("/").some((part) => part.startsWith("_"));
}

function folderOf(file: string): string {
  return file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
}

interface Coverage {
  files: Set<string>;
  dirs: string[];
  kustomized: Set<string>;
  deployed: Deployment[];
}

function coverage(tree: Tree): Coverage {
  const refs = kustomizationsByDir(tree.sources);
  const files = new Set<string>();
  const dirs: string[] = [];
  for (const ref of refs.values()) {
    for (const path of closure(ref.dir, refs)) {
      files.add(path);
      if (!refs.has(path)) dirs.push(path);
    }
  }
  // SOPS files a KSOPS generator lists are read by it.
  for (const file of tree.sources.files.filter((f) => f.role === "generator")) {
    for (const doc of file.docs) {
      for (const listed of list(get(doc.object, "files")))
        files.add(`${folderOf(file.file)}/${String(listed).replace(/^\.\//, "")}`);
    }
  }
  const deployed = deployments(
    [...tree.resources, ...resourcesFromSources(tree.sources)],
    tree.repoURLs ?? [],
  );
  return { files, dirs, kustomized: new Set(refs.keys()), deployed };
}

/**
 * Whether something deploys the folder: a deployment names it, or applies a folder above it as plain
 * files (Flux without kustomization.yaml generates one including every file below, and each folder
 * below that has its own kustomization, which then decides for the folders under it).
 */
function deploysFile(
  deployed: readonly Deployment[],
  folder: string,
  kustomized: ReadonlySet<string>,
): boolean {
  return deployed.some((d) => {
    if (deploysFolder(d, folder)) return true;
    if (!d.recurse || kustomized.has(d.dir)) return false;
    if (d.dir !== "" && !folder.startsWith(`${d.dir}/`)) return false;
    const between = folder
      .slice(d.dir === "" ? 0 : d.dir.length + 1)
      .split("/")
      .slice(0, -1);
    let path = d.dir;
    for (const part of between) {
      path = path === "" ? part : `${path}/${part}`;
      if (kustomized.has(path)) return false;
    }
    return true;
  });
}

const isManifest = (file: SourceFile) =>
  (file.role === "manifest" || file.role === "sops") &&
  file.docs.some(
    (d) => isObject(d.object) && typeof d.object.apiVersion === "string" && kindOf(d.object) !== undefined,
  );

const holdsDeployers = (file: SourceFile) =>
  file.role !== "kustomization" &&
  file.docs.some(
    (d) =>
      DEPLOYERS.has(kindOf(d.object) ?? "") &&
      !String(get(d.object, "apiVersion")).startsWith("kustomize.config.k8s.io"),
  );

export const orphanManifest: Rule = {
  id: "orphan-manifest",
  title: "every manifest is listed by a kustomization or in a deployed folder (warning)",
  reason:
    "kustomize builds only what kustomization.yaml lists, and Argo CD and Flux then apply only that: a file " +
    "left out is silently never deployed (kustomize docs, resources; argo-cd docs, directory apps)",
  check(tree) {
    const c = coverage(tree);
    const findings: Finding[] = [];
    for (const file of tree.sources.files) {
      if (!isManifest(file) || isTemplate(file.file) || c.files.has(file.file)) continue;
      if (c.dirs.some((d) => file.file.startsWith(`${d}/`))) continue;
      const folder = folderOf(file.file);
      const besideKustomization = c.kustomized.has(folder);
      if (!besideKustomization) {
        // A loose file: deployed as part of a plain folder, or an entry point applied by hand.
        if (c.deployed.length === 0 || holdsDeployers(file) || deploysFile(c.deployed, folder, c.kustomized))
          continue;
      }
      findings.push({
        rule: this.id,
        severity: "warning",
        message: besideKustomization
          ? `${file.file} is not listed in ${folder}/kustomization.yaml, so it is never deployed`
          : `${file.file} is in no folder an Application or Flux Kustomization deploys, and no kustomization lists it`,
        fix: besideKustomization
          ? "add it to the kustomization's resources (or patches), or delete it"
          : "list it in a kustomization, move it into a deployed folder, or delete it",
        file: file.file,
        line: file.docs[0]?.line ?? 1,
      });
    }
    return findings;
  },
};

export const orphanFolder: Rule = {
  id: "orphan-folder",
  title: "every kustomization folder is deployed or included (warning)",
  reason:
    "a folder no Application, ApplicationSet or Flux Kustomization points at, and no kustomization includes, " +
    "is never applied to the cluster (argo-cd docs, app of apps; Flux docs, Kustomization path)",
  check(tree) {
    const c = coverage(tree);
    if (c.deployed.length === 0) return [];
    const refs = kustomizationsByDir(tree.sources);
    const included = new Set([...refs.values()].flatMap((r) => r.includes));
    const findings: Finding[] = [];
    for (const ref of refs.values()) {
      if (ref.component || included.has(ref.dir) || isTemplate(ref.file)) continue;
      if (deploysFile(c.deployed, ref.dir, c.kustomized)) continue;
      // A folder whose kustomization deploys others (the app of apps, Flux's sync) is applied by hand.
      const reached = closure(ref.dir, refs);
      const entry = tree.sources.files.some((f) => reached.has(f.file) && holdsDeployers(f));
      if (entry) continue;
      findings.push({
        rule: this.id,
        severity: "warning",
        message: `${ref.dir} has a kustomization that no Application or Flux Kustomization deploys and no other kustomization includes`,
        fix: "point an Application (or Flux Kustomization) at the folder, include it from a deployed kustomization, or delete it",
        file: ref.file,
        line: 1,
      });
    }
    return findings;
  },
};
