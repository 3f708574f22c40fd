/**
 * Routes against what they refer to: the Gateway and listener they attach to (name, sectionName, port,
 * hostnames, allowedRoutes) and the Service ports behind their backendRefs. Each finding is on the route.
 * A Gateway or Service the tree does not declare (a chart's, another repository's) is not judged.
 */
import type { Finding } from "../findings.js";
import { at, get, is, list, nameOf, type Resource, str, type Tree } from "../resources.js";
import { isObject, type Json, kindOf } from "../source.js";
import {
  concrete,
  GATEWAY_GROUP,
  type Gateway,
  gateways,
  hostnamesIntersect,
  type Listener,
  referenceGranted,
} from "./gateway-model.js";
import { helmSources } from "./helm-values.js";
import { namespaceResolver } from "./namespaces.js";
import type { Rule } from "./rule.js";

const ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"];

/** Route kinds a listener accepts by default (Gateway API: by protocol). */
const DEFAULT_KINDS: Readonly<Record<string, readonly string[]>> = {
  HTTP: ["HTTPRoute", "GRPCRoute"],
  HTTPS: ["HTTPRoute", "GRPCRoute"],
  TLS: ["TLSRoute"],
  TCP: ["TCPRoute"],
  UDP: ["UDPRoute"],
};

export function routes(tree: Tree): Resource[] {
  return tree.resources.filter(
    (r) => ROUTE_KINDS.includes(kindOf(r.object) ?? "") && is(r, kindOf(r.object) ?? "", GATEWAY_GROUP),
  );
}

function matchLabels(selector: Json | undefined, labels: Json | undefined): boolean {
  const wanted = get(selector, "matchLabels");
  if (isObject(wanted) && !Object.entries(wanted).every(([k, v]) => get(labels, k) === v)) return false;
  return list(get(selector, "matchExpressions")).every((e) => {
    const value = get(labels, str(get(e, "key")) ?? "");
    const values = list(get(e, "values"));
    switch (str(get(e, "operator"))) {
      case "In":
        return values.includes(value ?? null);
      case "NotIn":
        return !values.includes(value ?? null);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      default:
        return true;
    }
  });
}

/** Why the listener refuses the route (undefined: it accepts it, or the tree does not tell). */
function refusal(
  tree: Tree,
  listener: Listener,
  route: Resource,
  routeNamespace: string | undefined,
): string | undefined {
  const kind = kindOf(route.object) ?? "";
  const allowedKinds = list(get(listener.allowedRoutes, "kinds"));
  const kinds =
    allowedKinds.length > 0
      ? allowedKinds.map((k) => str(get(k, "kind")))
      : DEFAULT_KINDS[listener.protocol ?? ""];
  if (kinds && !kinds.includes(kind)) {
    return `it accepts ${kinds.join(", ")} only (protocol ${listener.protocol ?? "?"}${allowedKinds.length > 0 ? ", allowedRoutes.kinds" : ""})`;
  }
  const from = str(get(listener.allowedRoutes, "namespaces", "from")) ?? "Same";
  const gatewayNamespace = listener.gateway.namespace;
  if (routeNamespace === undefined || gatewayNamespace === undefined) return undefined;
  if (from === "Same" && routeNamespace !== gatewayNamespace) {
    return `it accepts routes of its own namespace ${gatewayNamespace} only (allowedRoutes.namespaces.from: Same)`;
  }
  if (from === "None") return "it accepts no routes (allowedRoutes.namespaces.from: None)";
  if (from === "Selector") {
    const namespace = tree.resources.find((r) => is(r, "Namespace") && nameOf(r.object) === routeNamespace);
    if (!namespace) return undefined;
    const labels = {
      ...(isObject(get(namespace.object, "metadata", "labels"))
        ? (get(namespace.object, "metadata", "labels") as object)
        : {}),
      "kubernetes.io/metadata.name": routeNamespace,
    };
    if (!matchLabels(get(listener.allowedRoutes, "namespaces", "selector"), labels as Json)) {
      return `namespace ${routeNamespace} does not match its allowedRoutes.namespaces.selector`;
    }
  }
  return undefined;
}

function describe(gateway: Gateway): string {
  return `${gateway.namespace ? `${gateway.namespace}/` : ""}${gateway.name}`;
}

export const routeParent: Rule = {
  id: "route-parent",
  title: "a route attaches to a listener of its Gateway that accepts it",
  reason:
    "a parentRef whose sectionName, port, hostname or namespace no listener accepts leaves the route " +
    "unattached: the Gateway reports Accepted=False only at runtime (Gateway API spec, ParentReference and AllowedRoutes)",
  check(tree) {
    const findings: Finding[] = [];
    const namespaceOf = namespaceResolver(tree);
    const all = gateways(tree);
    for (const route of routes(tree)) {
      const routeNamespace = namespaceOf(route);
      const id = `${kindOf(route.object)} ${nameOf(route.object)}`;
      const hostnames = list(get(route.object, "spec", "hostnames"))
        .map(str)
        .filter(concrete);
      list(get(route.object, "spec", "parentRefs")).forEach((ref, i) => {
        if (
          (str(get(ref, "group")) ?? GATEWAY_GROUP) !== GATEWAY_GROUP ||
          (str(get(ref, "kind")) ?? "Gateway") !== "Gateway"
        )
          return;
        const name = str(get(ref, "name"));
        const namespace = str(get(ref, "namespace")) ?? routeNamespace;
        const gateway = all.find(
          (g) =>
            g.name === name &&
            (namespace === undefined || g.namespace === undefined || g.namespace === namespace),
        );
        if (!gateway) return;
        const path = ["spec", "parentRefs", i];
        const section = str(get(ref, "sectionName"));
        const port = get(ref, "port");
        let candidates = gateway.listeners;
        if (section !== undefined) {
          candidates = candidates.filter((l) => l.name === section);
          if (candidates.length === 0) {
            findings.push(
              at(route, [...path, "sectionName"], {
                rule: this.id,
                message: `${id}: Gateway ${describe(gateway)} has no listener ${section} (listeners: ${gateway.listeners.map((l) => l.name).join(", ")})`,
                fix: "set sectionName to one of the Gateway's listener names",
              }),
            );
            return;
          }
        }
        if (typeof port === "number") {
          const byPort = candidates.filter((l) => l.port === port);
          if (byPort.length === 0) {
            findings.push(
              at(route, [...path, "port"], {
                rule: this.id,
                message: `${id}: no listener ${section ? `${section} ` : ""}of Gateway ${describe(gateway)} listens on port ${port} (ports: ${[...new Set(candidates.map((l) => String(l.port)))].join(", ")})`,
                fix: "drop the port or set the listener's port",
              }),
            );
            return;
          }
          candidates = byPort;
        }
        const reasons = candidates.map((l) => ({
          listener: l,
          why: refusal(tree, l, route, routeNamespace),
        }));
        const accepting = reasons.filter((r) => r.why === undefined).map((r) => r.listener);
        if (accepting.length === 0 && reasons[0]) {
          findings.push(
            at(route, path, {
              rule: this.id,
              message: `${id}${routeNamespace ? ` (namespace ${routeNamespace})` : ""} cannot attach to listener ${reasons[0].listener.name} of Gateway ${describe(gateway)}: ${reasons[0].why}`,
              fix: "attach to a listener that allows it, or widen the listener's allowedRoutes",
            }),
          );
          return;
        }
        const bound = accepting.filter((l) => concrete(l.hostname));
        if (hostnames.length === 0 || bound.length < accepting.length || bound.length === 0) return;
        const matched = hostnames.some((h) => bound.some((l) => hostnamesIntersect(h, l.hostname ?? "")));
        if (matched) return;
        findings.push(
          at(route, ["spec", "hostnames"], {
            rule: this.id,
            message: `${id}: none of its hostnames (${hostnames.join(", ")}) matches ${bound.map((l) => `listener ${l.name} (${l.hostname})`).join(", ")} of Gateway ${describe(gateway)}`,
            fix: "use a hostname the listener serves, or attach to a listener for this hostname",
          }),
        );
      });
    }
    return findings;
  },
};

/** Whether the folder that built the route also deploys Helm charts (whose Services the tree cannot see). */
function chartsBeside(tree: Tree, route: Resource): boolean {
  const sameBuild = tree.resources.filter((r) => r.build !== undefined && r.build === route.build);
  return helmSources(sameBuild).length > 0 || sameBuild.length === 0;
}

export const routeBackend: Rule = {
  id: "route-backend",
  title: "a route's backendRef names a Service port that exists",
  reason:
    "a backendRef to a missing Service or port makes the route answer 500 (ResolvedRefs=False, BackendNotFound); " +
    "a Service backend needs a port, and another namespace's Service a ReferenceGrant (Gateway API spec, BackendRef)",
  check(tree) {
    const findings: Finding[] = [];
    const namespaceOf = namespaceResolver(tree);
    const services = tree.resources.filter((r) => is(r, "Service"));
    for (const route of routes(tree)) {
      const routeNamespace = namespaceOf(route);
      const id = `${kindOf(route.object)} ${nameOf(route.object)}`;
      list(get(route.object, "spec", "rules")).forEach((rule, i) => {
        list(get(rule, "backendRefs")).forEach((ref, j) => {
          if ((str(get(ref, "group")) ?? "") !== "" || (str(get(ref, "kind")) ?? "Service") !== "Service")
            return;
          const path = ["spec", "rules", i, "backendRefs", j];
          const name = str(get(ref, "name")) ?? "";
          const refNamespace = str(get(ref, "namespace"));
          const namespace = refNamespace ?? routeNamespace;
          const port = get(ref, "port");
          if (port === undefined) {
            findings.push(
              at(route, path, {
                rule: this.id,
                message: `${id}: backendRef ${name} has no port (required when the backend is a Service)`,
                fix: "set the backendRef's port to one of the Service's ports",
              }),
            );
          }
          if (refNamespace && routeNamespace && refNamespace !== routeNamespace) {
            const granted = referenceGranted(
              tree,
              { group: GATEWAY_GROUP, kind: kindOf(route.object) ?? "", namespace: routeNamespace },
              { group: "", kind: "Service", namespace: refNamespace, name },
            );
            if (!granted) {
              findings.push(
                at(route, [...path, "namespace"], {
                  rule: this.id,
                  message: `${id}: backendRef ${refNamespace}/${name} is in another namespace and no ReferenceGrant in ${refNamespace} allows it`,
                  fix: `add a ReferenceGrant in ${refNamespace} from ${kindOf(route.object)}s of ${routeNamespace} to the Service, or move the route`,
                }),
              );
            }
          }
          const service = services.find(
            (s) =>
              nameOf(s.object) === name &&
              (namespace === undefined || namespaceOf(s) === undefined || namespaceOf(s) === namespace),
          );
          if (!service) {
            const declared = services
              .filter((s) => s.build !== undefined && s.build === route.build)
              .map((s) => nameOf(s.object));
            if (declared.length === 0 || chartsBeside(tree, route)) return;
            findings.push(
              at(route, [...path, "name"], {
                rule: this.id,
                severity: "warning",
                message: `${id}: no Service ${name} in the tree (this app declares ${declared.join(", ")})`,
                fix: "name one of the app's Services, or declare the Service",
              }),
            );
            return;
          }
          if (typeof port !== "number") return;
          const ports = list(get(service.object, "spec", "ports"));
          if (ports.some((p) => get(p, "port") === port)) return;
          findings.push(
            at(route, [...path, "port"], {
              rule: this.id,
              message: `${id}: Service ${name} exposes ${ports.map((p) => `${String(get(p, "port"))}${str(get(p, "name")) ? ` (${str(get(p, "name"))})` : ""}`).join(", ") || "no ports"}, not ${port}`,
              fix: "use one of the Service's ports (its `port`, not the targetPort)",
            }),
          );
        });
      });
    }
    return findings;
  },
};
