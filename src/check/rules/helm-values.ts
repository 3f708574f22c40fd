/** Helm values of Argo CD Applications and K3s HelmChartConfigs, with the path to each value. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { get, is, list, nameOf, type Resource, str } from "../resources.js";
import { isObject, type Json, type PathPart, parseYamlValue } from "../source.js";
import { normalizeRepoURL } from "../target.js";

export interface HelmSource {
  resource: Resource;
  /** Path to the source within the Application (spec.source or spec.sources[i]). */
  sourcePath: PathPart[];
  chart: string | undefined;
  repoURL: string | undefined;
  /** Values and the path prefix under which a value's path is found in the resource. */
  values: Json;
  valuesPath: PathPart[];
  /** The values are YAML in the resource (each value has a line), not a string of YAML. */
  structured: boolean;
  /** The namespace the chart is installed into, when the resource says. */
  releaseNamespace: string | undefined;
  /**
   * All values are known: false when some come from files or objects the tree cannot read (valueFiles
   * of another repository, Flux valuesFrom), so rules about a value's absence must stay silent.
   */
  complete: boolean;
}

/** Where `$ref/...` value files of this repository are read from. */
export interface RepoFiles {
  root: string;
  repoURLs?: readonly string[];
}

/**
 * Values of `helm.valueFiles` that live in this repository (`$values/path` of a source with `ref: values`
 * following it), merged in order; `complete` is false when any file cannot be read.
 */
function valueFiles(
  resource: Resource,
  helm: Json | undefined,
  repo: RepoFiles | undefined,
): { values: Json; complete: boolean } {
  const files = list(get(helm, "valueFiles")).map(String);
  let values: Json = {};
  let complete = true;
  for (const file of files) {
    const match = /^\$([^/]+)\/(.+)$/.exec(file);
    const ref = match
      ? applicationSources(resource).find((s) => str(get(s.source, "ref")) === match[1])
      : undefined;
    const url = str(get(ref?.source, "repoURL"));
    const self =
      url !== undefined && (repo?.repoURLs ?? []).some((u) => normalizeRepoURL(u) === normalizeRepoURL(url));
    if (!match || !repo || !self) {
      complete = false;
      continue;
    }
    try {
      values = deepMerge(values, parseValues(readFileSync(join(repo.root, match[2] ?? ""), "utf8")));
    } catch {
      complete = false;
    }
  }
  return { values, complete };
}

function deepMerge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [key, value] of Object.entries(over))
    out[key] = key in out ? deepMerge(out[key] ?? null, value) : value;
  return out;
}

export function applicationSources(resource: Resource): { source: Json; path: PathPart[] }[] {
  if (!is(resource, "Application", "argoproj.io")) return [];
  const out: { source: Json; path: PathPart[] }[] = [];
  const single = get(resource.object, "spec", "source");
  if (single !== undefined) out.push({ source: single, path: ["spec", "source"] });
  const many = get(resource.object, "spec", "sources");
  if (Array.isArray(many))
    for (const [i, source] of many.entries()) out.push({ source, path: ["spec", "sources", i] });
  return out;
}

function parseValues(text: string): Json {
  return parseYamlValue(text) ?? {};
}

/** A Flux HelmRelease's chart: `spec.chart.spec.chart`, else the OCIRepository's last path segment. */
function fluxChart(resource: Resource, resources: readonly Resource[]): string | undefined {
  const chart = str(get(resource.object, "spec", "chart", "spec", "chart"));
  if (chart) return chart.split("/").pop();
  const ref = get(resource.object, "spec", "chartRef");
  const oci = resources.find(
    (r) => is(r, str(get(ref, "kind")) ?? "OCIRepository") && nameOf(r.object) === str(get(ref, "name")),
  );
  const url = str(get(oci?.object, "spec", "url"));
  return url?.replace(/\/+$/, "").split("/").pop() ?? str(get(ref, "name"));
}

/**
 * Every Helm source: Applications (value files of this repository, values, valuesObject), Flux
 * HelmReleases and K3s HelmChartConfig/HelmChart valuesContent.
 */
export function helmSources(resources: readonly Resource[], repo?: RepoFiles): HelmSource[] {
  const out: HelmSource[] = [];
  for (const resource of resources) {
    for (const { source, path } of applicationSources(resource)) {
      const helm = get(source, "helm");
      const chart = str(get(source, "chart"));
      if (!chart && helm === undefined) continue;
      const valuesObject = get(helm, "valuesObject");
      const inline = isObject(valuesObject) ? valuesObject : parseValues(str(get(helm, "values")) ?? "");
      const fromFiles = valueFiles(resource, helm, repo);
      const values = deepMerge(fromFiles.values, inline);
      out.push({
        resource,
        sourcePath: path,
        chart,
        repoURL: str(get(source, "repoURL")),
        values,
        valuesPath: isObject(valuesObject) ? [...path, "helm", "valuesObject"] : [...path, "helm", "values"],
        structured: isObject(valuesObject),
        complete: fromFiles.complete,
        releaseNamespace: str(get(resource.object, "spec", "destination", "namespace")),
      });
    }
    if (is(resource, "HelmRelease", "helm.toolkit.fluxcd.io")) {
      const values = get(resource.object, "spec", "values");
      out.push({
        resource,
        sourcePath: ["spec", "chart"],
        chart: fluxChart(resource, resources),
        repoURL: undefined,
        values: isObject(values) ? values : {},
        valuesPath: ["spec", "values"],
        structured: true,
        complete: list(get(resource.object, "spec", "valuesFrom")).length === 0,
        releaseNamespace:
          str(get(resource.object, "spec", "targetNamespace")) ??
          str(get(resource.object, "metadata", "namespace")),
      });
    }
    if (is(resource, "HelmChartConfig", "helm.cattle.io") || is(resource, "HelmChart", "helm.cattle.io")) {
      out.push({
        resource,
        sourcePath: ["spec"],
        chart: is(resource, "HelmChart")
          ? str(get(resource.object, "spec", "chart"))
          : str(get(resource.object, "metadata", "name")),
        repoURL: str(get(resource.object, "spec", "repo")),
        values: parseValues(str(get(resource.object, "spec", "valuesContent")) ?? ""),
        valuesPath: ["spec", "valuesContent"],
        structured: false,
        complete: true,
        releaseNamespace: is(resource, "HelmChart")
          ? (str(get(resource.object, "spec", "targetNamespace")) ??
            str(get(resource.object, "metadata", "namespace")))
          : str(get(resource.object, "metadata", "namespace")),
      });
    }
  }
  return out;
}

/** The path of a value inside the resource (valuesContent/values strings point at the string itself). */
export function valuePath(source: HelmSource, path: readonly PathPart[]): PathPart[] {
  return source.structured ? [...source.valuesPath, ...path] : source.valuesPath;
}
