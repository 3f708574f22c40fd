/**
 * Gateway API as the rules see it: Gateways (objects, and the one the Traefik chart makes from its
 * values) with their listeners, Traefik's entrypoint ports, ReferenceGrants, and hostname matching with
 * the Gateway API's and TLS's wildcard semantics.
 */
import { at, get, is, list, nameOf, type Resource, str, type Tree } from "../resources.js";
import { isObject, type Json, type PathPart } from "../source.js";
import { type HelmSource, helmSources, valuePath } from "./helm-values.js";
import { namespaceResolver } from "./namespaces.js";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

export interface Listener {
  gateway: Gateway;
  /** Path of the listener inside its resource. */
  path: PathPart[];
  name: string;
  port: Json | undefined;
  protocol: string | undefined;
  hostname: string | undefined;
  tlsMode: string;
  certificateRefs: Json[];
  allowedRoutes: Json | undefined;
}

export interface Gateway {
  resource: Resource;
  name: string;
  /** Undefined when the tree does not say. */
  namespace: string | undefined;
  className: string | undefined;
  listeners: Listener[];
  /** Made by the Traefik chart from its `gateway:` values. */
  chart?: HelmSource;
}

/** Traefik charts of the tree (K3s HelmChartConfig, Argo CD Application, Flux HelmRelease). */
export function traefikCharts(tree: Tree): HelmSource[] {
  return helmSources(tree.resources, tree).filter((s) => s.chart === "traefik");
}

/** GatewayClass names Traefik implements: `gatewayClass.name` of its values, else `traefik`. */
function traefikClasses(charts: readonly HelmSource[]): Set<string> {
  const out = new Set(["traefik"]);
  for (const chart of charts) {
    const name = str(get(chart.values, "gatewayClass", "name"));
    if (name) out.add(name);
  }
  return out;
}

/**
 * The ports Traefik's entrypoints listen on: the chart's defaults (web 8000, websecure 8443) with
 * `ports.<name>.port` of the values the tree sets, plus any entrypoint it adds.
 */
export function traefikEntrypoints(charts: readonly HelmSource[]): Map<string, number> {
  const ports = new Map<string, number>([
    ["web", 8000],
    ["websecure", 8443],
  ]);
  for (const chart of charts) {
    const entries = get(chart.values, "ports");
    if (!isObject(entries)) continue;
    for (const [name, entry] of Object.entries(entries)) {
      const port = get(entry, "port");
      if (typeof port === "number") ports.set(name, port);
    }
  }
  return ports;
}

function listenerOf(
  gateway: Gateway,
  listener: Json,
  path: PathPart[],
  name: string,
  chart: boolean,
): Listener {
  const tls = chart ? listener : get(listener, "tls");
  return {
    gateway,
    path,
    name,
    port: get(listener, "port"),
    protocol: str(get(listener, "protocol")),
    hostname: str(get(listener, "hostname")),
    tlsMode: str(get(tls, "mode")) ?? "Terminate",
    certificateRefs: list(get(tls, "certificateRefs")),
    allowedRoutes: chart
      ? isObject(get(listener, "namespacePolicy"))
        ? { namespaces: get(listener, "namespacePolicy") ?? {} }
        : undefined
      : get(listener, "allowedRoutes"),
  };
}

const cache = new WeakMap<Tree, Gateway[]>();

export function gateways(tree: Tree): Gateway[] {
  const cached = cache.get(tree);
  if (cached) return cached;
  const namespaceOf = namespaceResolver(tree);
  const out: Gateway[] = [];
  for (const resource of tree.resources) {
    if (!is(resource, "Gateway", GATEWAY_GROUP)) continue;
    const gateway: Gateway = {
      resource,
      name: nameOf(resource.object),
      namespace: namespaceOf(resource),
      className: str(get(resource.object, "spec", "gatewayClassName")),
      listeners: [],
    };
    list(get(resource.object, "spec", "listeners")).forEach((listener, i) => {
      const name = str(get(listener, "name")) ?? String(i);
      gateway.listeners.push(listenerOf(gateway, listener, ["spec", "listeners", i], name, false));
    });
    out.push(gateway);
  }
  for (const chart of traefikCharts(tree)) {
    const values = get(chart.values, "gateway");
    if (get(values, "enabled") === false) continue;
    const defined = get(values, "listeners");
    if (!isObject(defined)) continue;
    const gateway: Gateway = {
      resource: chart.resource,
      name: str(get(values, "name")) ?? "traefik-gateway",
      namespace: str(get(values, "namespace")) ?? chart.releaseNamespace,
      className: str(get(chart.values, "gatewayClass", "name")) ?? "traefik",
      listeners: [],
      chart,
    };
    for (const [name, listener] of Object.entries(defined)) {
      gateway.listeners.push(
        listenerOf(gateway, listener, valuePath(chart, ["gateway", "listeners", name]), name, true),
      );
    }
    out.push(gateway);
  }
  cache.set(tree, out);
  return out;
}

/** Whether the gateway is served by Traefik (its class is one of Traefik's). */
export function isTraefik(gateway: Gateway, tree: Tree): boolean {
  return gateway.chart !== undefined || traefikClasses(traefikCharts(tree)).has(gateway.className ?? "");
}

/** A finding at a listener's field (inside a chart's values string: at the values). */
export function atListener(
  listener: Listener,
  field: readonly PathPart[],
  finding: Parameters<typeof at>[2],
): ReturnType<typeof at> {
  const path =
    listener.gateway.chart && !listener.gateway.chart.structured
      ? listener.path
      : [...listener.path, ...field];
  return at(listener.gateway.resource, path, finding);
}

/** Whether a ReferenceGrant in `to.namespace` lets `from` refer to the target. */
export function referenceGranted(
  tree: Tree,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  const namespaceOf = namespaceResolver(tree);
  return tree.resources.some((grant) => {
    if (!is(grant, "ReferenceGrant", GATEWAY_GROUP) || namespaceOf(grant) !== to.namespace) return false;
    const fromOk = list(get(grant.object, "spec", "from")).some(
      (f) =>
        (str(get(f, "group")) ?? "") === from.group &&
        str(get(f, "kind")) === from.kind &&
        str(get(f, "namespace")) === from.namespace,
    );
    const toOk = list(get(grant.object, "spec", "to")).some(
      (t) =>
        (str(get(t, "group")) ?? "") === to.group &&
        str(get(t, "kind")) === to.kind &&
        (str(get(t, "name")) === undefined || str(get(t, "name")) === to.name),
    );
    return fromOk && toOk;
  });
}

/** A hostname the rules can reason about (not a placeholder or an unexpanded variable). */
export function concrete(host: string | undefined): host is string {
  return host !== undefined && host !== "" && !host.startsWith("set-by-") && !/[${}]/.test(host);
}

/**
 * Gateway API hostname intersection: a listener `*.example.com` accepts `a.example.com` and
 * `a.b.example.com` (not `example.com`); a route wildcard intersects the names under it.
 */
export function hostnamesIntersect(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  const under = (host: string, wildcard: string) =>
    wildcard.startsWith("*.") && host.endsWith(wildcard.slice(1));
  return under(x, y) || under(y, x);
}

/** TLS certificate name matching: `*.example.com` covers exactly one label (`a.example.com`). */
export function certificateCovers(dnsName: string, host: string): boolean {
  const name = dnsName.toLowerCase();
  const target = host.toLowerCase();
  if (name === target) return true;
  if (!name.startsWith("*.") || target.startsWith("*.")) return false;
  const dot = target.indexOf(".");
  return dot > 0 && target.slice(dot) === name.slice(1);
}
