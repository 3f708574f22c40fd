/**
 * `infra app new NAME`: scaffolds kubernetes/apps/NAME from kubernetes/apps/_template (every
 * `app-template` becomes NAME) and registers NAME/application.yaml with the apps root kustomization,
 * which the `apps` Application syncs. Refuses an existing app; `--dry-run` writes nothing.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isSeq, parseDocument, YAMLSeq } from "yaml";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";

export interface AppNewOptions {
  name: string;
  dryRun: boolean;
}

export interface AppNewResult {
  name: string;
  dir: string;
  files: string[];
  /** The entry added to kubernetes/apps/kustomization.yaml (undefined when it was already there). */
  registered: string | undefined;
  dryRun: boolean;
}

export const APPS_DIR = join("kubernetes", "apps");
const TEMPLATE = "_template";
const PLACEHOLDER = /app-template/g;
/** Namespaces the platform owns: an app of that name would land in (and prune) them. */
const RESERVED = new Set([
  "argocd",
  "cert-manager",
  "default",
  "external-dns",
  "kube-node-lease",
  "kube-public",
  "kube-system",
  "system-upgrade",
  "velero",
  "apps",
  "infrastructure",
  "root",
]);

export function validateAppName(name: string): void {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 53) {
    throw new InfraError("APP_NAME_INVALID", `"${name}" is not a valid application name`, {
      kind: "usage",
      hint: "use a DNS-1123 label of at most 53 characters: lower-case letters, digits and '-', e.g. `infra app new blog`",
    });
  }
  if (RESERVED.has(name) || name === "app-template") {
    throw new InfraError("APP_NAME_RESERVED", `"${name}" is reserved by the platform`, {
      kind: "usage",
      hint: "pick another name; it becomes the app's namespace and Argo CD Application",
    });
  }
}

export async function appNewCommand(
  ctx: CommandContext,
  options: AppNewOptions,
): Promise<Outcome<AppNewResult>> {
  const { name, dryRun } = options;
  validateAppName(name);
  const appsDir = join(ctx.cwd, APPS_DIR);
  const templateDir = join(appsDir, TEMPLATE);
  const rootFile = join(appsDir, "kustomization.yaml");
  if (!existsSync(templateDir) || !existsSync(rootFile)) {
    throw new InfraError(
      "APP_TEMPLATE_MISSING",
      `${join(APPS_DIR, TEMPLATE)} or ${join(APPS_DIR, "kustomization.yaml")} is missing`,
      {
        kind: "config",
        location: { file: existsSync(templateDir) ? rootFile : templateDir },
        hint: "run `infra app new` from the repository root (the folder with kubernetes/)",
      },
    );
  }
  const target = join(appsDir, name);
  if (existsSync(target)) {
    throw new InfraError("APP_EXISTS", `application ${name} already exists`, {
      kind: "usage",
      location: { file: join(APPS_DIR, name) },
      hint: "pick another name, or edit the existing folder",
    });
  }

  const entries = (await readdir(templateDir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name);
  entries.sort();
  const files = new Map<string, string>();
  for (const file of entries) {
    const text = await readFile(join(templateDir, file), "utf8");
    // The SOPS example is signed (MAC): copy it unchanged.
    files.set(file, file.endsWith(".example") ? text : text.replace(PLACEHOLDER, name));
  }

  const rootText = await readFile(rootFile, "utf8");
  const document = parseDocument(rootText);
  if (document.errors.length > 0) {
    throw new InfraError("APP_ROOT_INVALID", `${join(APPS_DIR, "kustomization.yaml")} is not valid YAML`, {
      kind: "config",
      location: { file: rootFile },
      hint: document.errors[0]?.message ?? "fix the YAML",
    });
  }
  const entry = `${name}/application.yaml`;
  let resources = document.get("resources", true);
  if (resources === undefined || resources === null) {
    resources = new YAMLSeq();
    document.set("resources", resources);
  }
  if (!isSeq(resources)) {
    throw new InfraError("APP_ROOT_INVALID", "`resources` in the apps kustomization is not a list", {
      kind: "config",
      location: { file: rootFile, path: "resources" },
      hint: "make `resources:` a YAML list",
    });
  }
  const present = resources.items.some(
    (item) => String((item as { value?: unknown }).value ?? item) === entry,
  );
  let registered: string | undefined;
  if (!present) {
    const values = [
      ...resources.items.map((item) => String((item as { value?: unknown }).value ?? item)),
      entry,
    ].sort();
    const seq = new YAMLSeq();
    for (const value of values) seq.add(document.createNode(value));
    seq.flow = false;
    document.set("resources", seq);
    registered = entry;
  }

  const result: AppNewResult = {
    name,
    dir: join(APPS_DIR, name),
    files: [...files.keys()].map((f) => join(APPS_DIR, name, f)),
    registered,
    dryRun,
  };
  if (!dryRun) {
    // Write the folder under a temporary name and rename it into place: never a half-written app.
    const temp = join(appsDir, `.${name}.tmp-${process.pid}`);
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp, { recursive: true });
    try {
      for (const [file, text] of files) await writeFile(join(temp, file), text);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    if (registered) await writeFile(rootFile, document.toString());
  }
  return outcome(result, renderAppNew);
}

export function renderAppNew(r: AppNewResult): string {
  const verb = r.dryRun ? "would write" : "wrote";
  const lines = [`${r.dryRun ? "Dry run: " : ""}${verb} ${r.dir}/`, ...r.files.map((f) => `  ${f}`)];
  if (r.registered)
    lines.push(
      `${r.dryRun ? "would register" : "registered"} ${r.registered} in ${APPS_DIR}/kustomization.yaml`,
    );
  if (!r.dryRun) {
    lines.push(
      "next: edit the image and port, run `infra check`, then commit and push; Argo CD syncs the app.",
    );
  }
  return lines.join("\n");
}
