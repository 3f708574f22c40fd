import type { Finding } from "../findings.js";
import { at, get, is, list, namespaceOf, type Resource, str } from "../resources.js";
import { isObject, type Json, type PathPart } from "../source.js";
import { helmSources, valuePath } from "./helm-values.js";
import type { Rule } from "./rule.js";

interface Listener {
  resource: Resource;
  path: PathPart[];
  name: string;
  port: Json | undefined;
  protocol: string | undefined;
  hostname: string | undefined;
  certificateRefs: Json[];
  /** The Gateway's namespace. */
  namespace: string;
  traefik: boolean;
}

/** Listeners of Gateways and of the Traefik chart's own Gateway (HelmChartConfig values). */
function listeners(resources: readonly Resource[]): Listener[] {
  const out: Listener[] = [];
  for (const resource of resources) {
    if (!is(resource, "Gateway", "gateway.networking.k8s.io")) continue;
    const traefik = get(resource.object, "spec", "gatewayClassName") === "traefik";
    list(get(resource.object, "spec", "listeners")).forEach((listener, i) => {
      out.push({
        resource,
        path: ["spec", "listeners", i],
        name: str(get(listener, "name")) ?? String(i),
        port: get(listener, "port"),
        protocol: str(get(listener, "protocol")),
        hostname: str(get(listener, "hostname")),
        certificateRefs: list(get(listener, "tls", "certificateRefs")),
        namespace: namespaceOf(resource.object) ?? "default",
        traefik,
      });
    });
  }
  for (const source of helmSources(resources)) {
    if (source.chart !== "traefik") continue;
    const gateway = get(source.values, "gateway");
    if (get(gateway, "enabled") === false) continue;
    const defined = get(gateway, "listeners");
    if (!isObject(defined)) continue;
    for (const [name, listener] of Object.entries(defined)) {
      out.push({
        resource: source.resource,
        path: valuePath(source, ["gateway", "listeners", name]),
        name,
        port: get(listener, "port"),
        protocol: str(get(listener, "protocol")),
        hostname: str(get(listener, "hostname")),
        certificateRefs: list(get(listener, "certificateRefs")),
        namespace: str(get(gateway, "namespace")) ?? namespaceOf(source.resource.object) ?? "kube-system",
        traefik: true,
      });
    }
  }
  return out;
}

export const gatewayListenerPort: Rule = {
  id: "gateway-listener-port",
  title: "Traefik Gateway listeners use the entrypoint ports (8000/8443), not 80/443",
  reason:
    "Traefik matches a listener to the entrypoint with the same port; 80/443 are only the Service's ports " +
    "(traefik/traefik-helm-chart templates/gateway.yaml fails otherwise; Traefik docs, Kubernetes Gateway provider)",
  check(tree) {
    const findings: Finding[] = [];
    for (const listener of listeners(tree.resources)) {
      if (!listener.traefik || (listener.port !== 80 && listener.port !== 443)) continue;
      const wanted = listener.port === 80 ? 8000 : 8443;
      findings.push(
        at(listener.resource, [...listener.path, "port"], {
          rule: this.id,
          message: `listener ${listener.name} uses port ${String(listener.port)}; Traefik's entrypoint is ${wanted}`,
          fix: `set port: ${wanted} (Traefik's Service still exposes ${String(listener.port)})`,
        }),
      );
    }
    return findings;
  },
};

export const gatewayHttpsListener: Rule = {
  id: "gateway-https-listener",
  title: "an HTTPS listener needs a hostname and certificateRefs",
  reason:
    "cert-manager's Gateway shim issues a certificate only for a listener with a hostname, TLS mode " +
    "Terminate and a certificateRefs Secret name (cert-manager docs, usage/gateway)",
  check(tree) {
    const findings: Finding[] = [];
    for (const listener of listeners(tree.resources)) {
      if (listener.protocol !== "HTTPS") continue;
      const missing = [
        listener.hostname ? undefined : "hostname",
        listener.certificateRefs.length > 0 ? undefined : "certificateRefs",
      ].filter(Boolean);
      if (missing.length === 0) continue;
      findings.push(
        at(listener.resource, listener.path, {
          rule: this.id,
          message: `HTTPS listener ${listener.name} has no ${missing.join(" and no ")}: no certificate can be issued for it`,
          fix: "set the listener's hostname and tls.certificateRefs (a Secret in the Gateway's namespace)",
        }),
      );
    }
    return findings;
  },
};

export const gatewayCertNamespace: Rule = {
  id: "gateway-cert-namespace",
  title: "a listener's certificate Secret lives in the Gateway's namespace",
  reason:
    "cert-manager creates the Certificate in the Gateway's namespace and Gateways read Secrets of other " +
    "namespaces only with a ReferenceGrant (cert-manager#5610; Gateway API spec)",
  check(tree) {
    const findings: Finding[] = [];
    const certificates = tree.resources.filter((r) => is(r, "Certificate", "cert-manager.io"));
    for (const listener of listeners(tree.resources)) {
      listener.certificateRefs.forEach((ref, i) => {
        const name = str(get(ref, "name"));
        const refNamespace = str(get(ref, "namespace"));
        if (refNamespace && refNamespace !== listener.namespace) {
          findings.push(
            at(listener.resource, [...listener.path, "tls", "certificateRefs", i, "namespace"], {
              rule: this.id,
              message: `listener ${listener.name} uses Secret ${refNamespace}/${name ?? ""}, outside the Gateway's namespace ${listener.namespace}`,
              fix: `issue the certificate into namespace ${listener.namespace} and drop the namespace from the reference`,
            }),
          );
          return;
        }
        const issuing = certificates.filter((c) => get(c.object, "spec", "secretName") === name);
        if (
          issuing.length === 0 ||
          issuing.some((c) => (namespaceOf(c.object) ?? "default") === listener.namespace)
        )
          return;
        for (const certificate of issuing) {
          findings.push(
            at(certificate, ["metadata", "namespace"], {
              rule: this.id,
              message: `Certificate ${String(get(certificate.object, "metadata", "name"))} writes Secret ${name ?? ""} into namespace ${namespaceOf(certificate.object) ?? "default"}, but Gateway listener ${listener.name} reads it from ${listener.namespace}`,
              fix: `put the Certificate in namespace ${listener.namespace}`,
            }),
          );
        }
      });
    }
    return findings;
  },
};
