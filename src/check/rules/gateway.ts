import type { Finding } from "../findings.js";
import { at, get, is, nameOf, str } from "../resources.js";
import {
  atListener,
  gateways,
  isTraefik,
  type Listener,
  referenceGranted,
  traefikCharts,
  traefikEntrypoints,
} from "./gateway-model.js";
import { namespaceResolver } from "./namespaces.js";
import type { Rule } from "./rule.js";
import { producedSecrets, secretExists } from "./secrets-produced.js";

function allListeners(tree: Parameters<Rule["check"]>[0]): Listener[] {
  return gateways(tree).flatMap((g) => g.listeners);
}

export const gatewayListenerPort: Rule = {
  id: "gateway-listener-port",
  title: "Traefik Gateway listeners use Traefik's entrypoint ports (8000/8443 unless the values change them)",
  reason:
    "Traefik matches a listener to the entrypoint with the same port; 80/443 are only the Service's ports " +
    "(traefik/traefik-helm-chart templates/gateway.yaml fails otherwise; Traefik docs, Kubernetes Gateway provider)",
  check(tree) {
    const findings: Finding[] = [];
    const entrypoints = traefikEntrypoints(traefikCharts(tree));
    const ports = new Set(entrypoints.values());
    for (const gateway of gateways(tree)) {
      if (!isTraefik(gateway, tree)) continue;
      for (const listener of gateway.listeners) {
        if (typeof listener.port !== "number" || ports.has(listener.port)) continue;
        const wanted =
          listener.port === 80
            ? entrypoints.get("web")
            : listener.port === 443
              ? entrypoints.get("websecure")
              : undefined;
        findings.push(
          atListener(listener, ["port"], {
            rule: this.id,
            message: `listener ${listener.name} of Gateway ${gateway.name} uses port ${listener.port}, which is no Traefik entrypoint (${[...entrypoints].map(([n, p]) => `${n} ${p}`).join(", ")})`,
            fix: wanted
              ? `set port: ${wanted} (Traefik's Service still exposes ${listener.port})`
              : "use the port of one of Traefik's entrypoints (ports.<name>.port in its values)",
          }),
        );
      }
    }
    return findings;
  },
};

const SHIM_ANNOTATIONS = ["cert-manager.io/issuer", "cert-manager.io/cluster-issuer"];

export const gatewayHttpsListener: Rule = {
  id: "gateway-https-listener",
  title: "an HTTPS listener has certificateRefs, and a hostname when cert-manager issues its certificate",
  reason:
    "Gateway API requires a certificate for TLS termination; cert-manager's Gateway shim issues one only for " +
    "a listener with a hostname, TLS mode Terminate and a certificateRefs Secret (cert-manager docs, usage/gateway)",
  check(tree) {
    const findings: Finding[] = [];
    const produced = producedSecrets(tree);
    for (const listener of allListeners(tree)) {
      const terminates =
        listener.protocol === "HTTPS" || (listener.protocol === "TLS" && listener.tlsMode === "Terminate");
      if (!terminates) continue;
      const gateway = listener.gateway;
      if (listener.certificateRefs.length === 0) {
        if (get(gateway.resource.object, ...listener.path, "tls", "options") !== undefined) continue;
        findings.push(
          atListener(listener, [], {
            rule: this.id,
            message: `${listener.protocol} listener ${listener.name} of Gateway ${gateway.name} has no certificateRefs: TLS cannot be terminated`,
            fix: "set tls.certificateRefs to the certificate's Secret (in the Gateway's namespace)",
          }),
        );
        continue;
      }
      if (listener.hostname) continue;
      const shim = SHIM_ANNOTATIONS.some(
        (a) => get(gateway.resource.object, "metadata", "annotations", a) !== undefined,
      );
      // Without the shim, or with the Secret made another way (an explicit Certificate, an ExternalSecret,
      // a Secret), no hostname is needed.
      const made = listener.certificateRefs.every((ref) => {
        const name = str(get(ref, "name"));
        return (
          name !== undefined && secretExists(produced, name, str(get(ref, "namespace")) ?? gateway.namespace)
        );
      });
      if (!shim || made) continue;
      findings.push(
        atListener(listener, [], {
          rule: this.id,
          message: `HTTPS listener ${listener.name} of Gateway ${gateway.name} has no hostname, so cert-manager's Gateway shim issues no certificate for it and nothing else makes its Secret`,
          fix: "set the listener's hostname, or issue the Secret with an explicit Certificate",
        }),
      );
    }
    return findings;
  },
};

export const gatewayCertNamespace: Rule = {
  id: "gateway-cert-namespace",
  title: "a listener's certificate Secret is in the Gateway's namespace, or a ReferenceGrant allows it",
  reason:
    "cert-manager creates the Certificate in the Gateway's namespace and Gateways read Secrets of other " +
    "namespaces only with a ReferenceGrant (cert-manager#5610; Gateway API spec, ReferenceGrant)",
  check(tree) {
    const findings: Finding[] = [];
    const namespaceOf = namespaceResolver(tree);
    const produced = producedSecrets(tree);
    const certificates = tree.resources.filter((r) => is(r, "Certificate", "cert-manager.io"));
    for (const listener of allListeners(tree)) {
      const gatewayNamespace = listener.gateway.namespace;
      if (gatewayNamespace === undefined) continue;
      listener.certificateRefs.forEach((ref, i) => {
        const name = str(get(ref, "name")) ?? "";
        const refNamespace = str(get(ref, "namespace"));
        if (refNamespace && refNamespace !== gatewayNamespace) {
          const granted = referenceGranted(
            tree,
            { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: gatewayNamespace },
            { group: "", kind: "Secret", namespace: refNamespace, name },
          );
          if (granted) return;
          findings.push(
            atListener(listener, ["tls", "certificateRefs", i, "namespace"], {
              rule: this.id,
              message: `listener ${listener.name} uses Secret ${refNamespace}/${name}, outside the Gateway's namespace ${gatewayNamespace}, and no ReferenceGrant in ${refNamespace} allows it`,
              fix: `issue the certificate into ${gatewayNamespace}, or add a ReferenceGrant in ${refNamespace} from Gateways of ${gatewayNamespace} to the Secret`,
            }),
          );
          return;
        }
        if (
          secretExists(
            produced.filter((p) => !is(p.by, "Certificate", "cert-manager.io")),
            name,
            gatewayNamespace,
          )
        )
          return;
        const issuing = certificates.filter((c) => get(c.object, "spec", "secretName") === name);
        const namespaces = issuing.map((c) => namespaceOf(c));
        if (issuing.length === 0 || namespaces.some((n) => n === undefined || n === gatewayNamespace)) return;
        for (const certificate of issuing) {
          findings.push(
            at(certificate, ["metadata", "namespace"], {
              rule: this.id,
              message: `Certificate ${nameOf(certificate.object)} writes Secret ${name} into namespace ${namespaceOf(certificate) ?? ""}, but listener ${listener.name} of Gateway ${listener.gateway.name} reads it from ${gatewayNamespace}`,
              fix: `put the Certificate in namespace ${gatewayNamespace}`,
            }),
          );
        }
      });
    }
    return findings;
  },
};
