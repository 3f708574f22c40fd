/**
 * The GitOps bootstrap, the last step of `infra up`: Argo CD installed once from exactly the chart,
 * version and values of kubernetes/bootstrap/argocd.yaml (the Application that keeps it up to date
 * afterwards), the age key Secret created out of band, then kubernetes/bootstrap applied so that the
 * root Application takes over. Every step is server-side apply, so a re-run changes nothing.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../adapters/exec.js";
import { kustomizeBuild } from "../adapters/kustomize.js";
import { InfraError } from "../errors.js";
import type { KubeClient, KubeObject } from "../kube/client.js";
import type { Reporter } from "../ui/reporter.js";
import { ageKeySecret, readAgeKey } from "./age-key.js";
import { type ApplyResult, applyObjects } from "./apply.js";

export const BOOTSTRAP_DIR = join("kubernetes", "bootstrap");
const ARGOCD_APPLICATION = join(BOOTSTRAP_DIR, "argocd.yaml");

export interface ChartSource {
  repoURL: string;
  chart: string;
  version: string;
  releaseName: string;
  namespace: string;
  values: unknown;
}

/** Reads the Argo CD chart pin from the Application that manages Argo CD (one source of truth). */
export async function argoCdChart(root: string): Promise<ChartSource> {
  const file = join(root, ARGOCD_APPLICATION);
  const { parseAllDocuments } = await import("yaml");
  const docs = parseAllDocuments(await readFile(file, "utf8")).map((d) => d.toJS() as KubeObject | null);
  const app = docs.find((d) => d?.kind === "Application" && d.metadata?.name === "argo-cd");
  const source = (app?.spec as { source?: Record<string, unknown> } | undefined)?.source;
  const helm = source?.helm as { releaseName?: string; valuesObject?: unknown } | undefined;
  if (
    !app ||
    typeof source?.repoURL !== "string" ||
    typeof source.chart !== "string" ||
    !source.targetRevision
  ) {
    throw new InfraError("ARGOCD_PIN_MISSING", "no Application argo-cd with a Helm chart source", {
      kind: "config",
      location: { file, path: "spec.source" },
      hint: "the Argo CD install is pinned by the argo-cd Application's repoURL, chart and targetRevision",
    });
  }
  const destination = (app.spec as { destination?: { namespace?: string } }).destination;
  return {
    repoURL: source.repoURL,
    chart: source.chart,
    version: String(source.targetRevision),
    releaseName: helm?.releaseName ?? "argo-cd",
    namespace: destination?.namespace ?? "argocd",
    values: helm?.valuesObject ?? {},
  };
}

/** `helm template` arguments that render exactly the pinned chart with the Application's values. */
export function helmTemplateArgs(chart: ChartSource, valuesFile: string): string[] {
  return [
    "template",
    chart.releaseName,
    chart.chart,
    "--repo",
    chart.repoURL,
    "--version",
    chart.version,
    "--namespace",
    chart.namespace,
    "--include-crds",
    "--values",
    valuesFile,
  ];
}

async function parseManifests(text: string): Promise<KubeObject[]> {
  const { parseAllDocuments } = await import("yaml");
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind));
}

export interface BootstrapOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  dryRun: boolean;
  reporter: Reporter;
  /** Skip installing Argo CD from its chart (it is already running). */
  skipArgoCd?: boolean;
}

export interface BootstrapResult {
  applied: ApplyResult[];
}

export async function gitopsBootstrap(kube: KubeClient, options: BootstrapOptions): Promise<BootstrapResult> {
  const { reporter } = options;
  const applied: ApplyResult[] = [];
  const note = (r: ApplyResult) => {
    applied.push(r);
    reporter.step(`${r.kind}/${r.name}`, r.action);
  };

  reporter.phase("Check the age key KSOPS decrypts with");
  const key = await readAgeKey(options.env, options.root);

  reporter.phase("Create the argocd namespace and the sops-age Secret (out of band, never from Git)");
  const namespace: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "argocd" } };
  await applyObjects(kube, [namespace, ageKeySecret(key) as KubeObject], {
    dryRun: options.dryRun,
    onApplied: note,
  });

  if (!options.skipArgoCd) {
    const chart = await argoCdChart(options.root);
    reporter.phase(`Install Argo CD from chart ${chart.chart} ${chart.version}`);
    const dir = await mkdtemp(join(tmpdir(), "infra-argocd-"));
    try {
      const valuesFile = join(dir, "values.json");
      await writeFile(valuesFile, JSON.stringify(chart.values));
      const rendered = await exec("helm", helmTemplateArgs(chart, valuesFile), { env: options.env });
      const objects = (await parseManifests(rendered.stdout)).map((o) => ({
        ...o,
        metadata: { ...o.metadata, namespace: o.metadata.namespace ?? chart.namespace },
      }));
      await applyObjects(kube, objects, { dryRun: options.dryRun, onApplied: note });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  reporter.phase("Apply kubernetes/bootstrap: projects and the root Application");
  const build = await kustomizeBuild(join(options.root, BOOTSTRAP_DIR), options.env);
  if (!build.ok) {
    throw new InfraError(
      "KUSTOMIZE_FAILED",
      `kustomize build ${BOOTSTRAP_DIR} failed: ${build.stderr.trim()}`,
      {
        location: { file: BOOTSTRAP_DIR },
        hint: "run `infra check` to see the located error",
      },
    );
  }
  await applyObjects(kube, await parseManifests(build.stdout), { dryRun: options.dryRun, onApplied: note });
  return { applied };
}
