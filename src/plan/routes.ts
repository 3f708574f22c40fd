/**
 * The host names the GitOps tree's HTTPRoutes serve, read from kubernetes/ without building it:
 * what external-dns would publish. A route annotated `infra-k3s.io/hostname-suffix: cluster-domain`
 * gets the cluster's domain after its first label, as the cluster-values replacement does.
 * Templates (folders starting with `_`) and SOPS files are not routes of the cluster.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { loadAllYaml } from "../config/yaml-data.js";

export interface RouteHost {
  hostname: string;
  /** namespace/name of the HTTPRoute. */
  route: string;
  file: string;
}

export const HOSTNAME_SUFFIX_ANNOTATION = "infra-k3s.io/hostname-suffix";
const ROUTE_KIND = /^kind:\s*["']?HTTPRoute["']?\s*$/m;

export async function scanRouteHosts(root: string, domain: string): Promise<RouteHost[]> {
  const base = join(root, "kubernetes");
  if (!existsSync(base)) return [];
  const hosts: RouteHost[] = [];
  for (const path of await yamlFiles(base)) {
    const text = await readFile(path, "utf8");
    if (!ROUTE_KIND.test(text)) continue;
    const documents = loadAllYaml(text);
    if (!documents.ok) continue;
    const file = relative(root, path).replaceAll("\\", "/");
    for (const document of documents.value) hosts.push(...routeHosts(document, domain, file));
  }
  return hosts.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.route.localeCompare(b.route));
}

function routeHosts(document: unknown, domain: string, file: string): RouteHost[] {
  const object = document as {
    kind?: unknown;
    apiVersion?: unknown;
    metadata?: { name?: unknown; namespace?: unknown; annotations?: Record<string, unknown> };
    spec?: { hostnames?: unknown };
  } | null;
  if (
    object?.kind !== "HTTPRoute" ||
    !String(object.apiVersion ?? "").startsWith("gateway.networking.k8s.io/")
  )
    return [];
  const names = Array.isArray(object.spec?.hostnames) ? object.spec.hostnames.map(String) : [];
  const suffixed = object.metadata?.annotations?.[HOSTNAME_SUFFIX_ANNOTATION] === "cluster-domain";
  const route = `${String(object.metadata?.namespace ?? "default")}/${String(object.metadata?.name ?? "")}`;
  return names.map((name, index) => ({
    hostname: (suffixed && index === 0 ? `${name.split(".")[0]}.${domain}` : name).toLowerCase(),
    route,
    file,
  }));
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name.startsWith("_")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(entry.name) && !/\.sops\.ya?ml$/.test(entry.name)) files.push(path);
  }
  return files;
}
