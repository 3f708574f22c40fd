/**
 * Hostnames across objects: a Certificate covers every listener hostname it serves, and (for this
 * project's tree) every route, listener and certificate name lies inside cluster.yaml's domain.
 */
import { inZone } from "../../config/hostnames.js";
import type { Finding } from "../findings.js";
import { at, get, is, list, nameOf, type Resource, str } from "../resources.js";
import type { PathPart } from "../source.js";
import { atListener, certificateCovers, concrete, gateways } from "./gateway-model.js";
import { namespaceResolver } from "./namespaces.js";
import { routes } from "./routes.js";
import type { Rule } from "./rule.js";

export const certificateHostnames: Rule = {
  id: "certificate-hostnames",
  title: "a Certificate names every hostname of the listeners that use its Secret",
  reason:
    "a listener serving a hostname its certificate does not name fails every TLS handshake for it " +
    "(RFC 6125 name matching: `*.example.com` covers one label, not the apex; cert-manager docs, Certificate dnsNames)",
  check(tree) {
    const findings: Finding[] = [];
    const namespaceOf = namespaceResolver(tree);
    const certificates = tree.resources.filter((r) => is(r, "Certificate", "cert-manager.io"));
    for (const gateway of gateways(tree)) {
      for (const listener of gateway.listeners) {
        const host = listener.hostname;
        if (!concrete(host)) continue;
        for (const ref of listener.certificateRefs) {
          const secret = str(get(ref, "name"));
          const namespace = str(get(ref, "namespace")) ?? gateway.namespace;
          const issuing = certificates.filter(
            (c) =>
              get(c.object, "spec", "secretName") === secret &&
              (namespace === undefined || namespaceOf(c) === undefined || namespaceOf(c) === namespace),
          );
          for (const certificate of issuing) {
            const names = list(get(certificate.object, "spec", "dnsNames")).map(str);
            // Placeholders not replaced (a failed build) or variables: nothing to compare.
            if (names.some((n) => !concrete(n))) continue;
            if (names.some((n) => n !== undefined && certificateCovers(n, host))) continue;
            findings.push(
              at(certificate, ["spec", "dnsNames"], {
                rule: this.id,
                message: `Certificate ${nameOf(certificate.object)} (Secret ${secret}) names ${names.join(", ") || "no dnsNames"}, not ${host}, which listener ${listener.name} of Gateway ${gateway.name} serves with it`,
                fix: `add ${host} to spec.dnsNames (a wildcard covers one label only)`,
              }),
            );
          }
        }
      }
    }
    return findings;
  },
};

/** Whether a (possibly wildcard) host name lies inside the domain or is the domain. */
export function inside(host: string, domain: string): boolean {
  return inZone(host.toLowerCase().replace(/\.$/, "").replace(/^\*\./, ""), domain);
}

export const hostnameDomain: Rule = {
  id: "hostname-domain",
  title: "route, listener and certificate hostnames lie inside cluster.yaml's domain",
  reason:
    "external-dns only writes names inside its domain filter and the DNS-01 issuer only solves for the " +
    "cluster's zone: a name outside it never resolves or never gets a certificate (external-dns docs, domain-filter; cert-manager DNS01)",
  check(tree) {
    const domain = tree.cluster?.domain;
    if (!tree.house || !domain) return [];
    const findings: Finding[] = [];
    const report = (resource: Resource, path: PathPart[], host: string, what: string) => {
      findings.push(
        at(resource, path, {
          rule: this.id,
          message: `${what} hostname ${host} is outside the cluster's domain ${domain} (cluster.yaml)`,
          fix: `use a name under ${domain}, or change domain in cluster.yaml and run \`infra configure\``,
        }),
      );
    };
    for (const route of routes(tree)) {
      list(get(route.object, "spec", "hostnames")).forEach((h, i) => {
        const host = str(h);
        if (concrete(host) && !inside(host, domain))
          report(route, ["spec", "hostnames", i], host, `${route.object.kind} ${nameOf(route.object)}`);
      });
    }
    for (const certificate of tree.resources.filter((r) => is(r, "Certificate", "cert-manager.io"))) {
      list(get(certificate.object, "spec", "dnsNames")).forEach((h, i) => {
        const host = str(h);
        if (concrete(host) && !inside(host, domain))
          report(certificate, ["spec", "dnsNames", i], host, `Certificate ${nameOf(certificate.object)}`);
      });
    }
    for (const gateway of gateways(tree)) {
      for (const listener of gateway.listeners) {
        const host = listener.hostname;
        if (!concrete(host) || inside(host, domain)) continue;
        findings.push(
          atListener(listener, ["hostname"], {
            rule: this.id,
            message: `listener ${listener.name} of Gateway ${gateway.name}: hostname ${host} is outside the cluster's domain ${domain} (cluster.yaml)`,
            fix: `use a name under ${domain}`,
          }),
        );
      }
    }
    return findings;
  },
};
