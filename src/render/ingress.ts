/**
 * How `ingress.mode` reaches the GitOps tree: a kustomize Component that `infra configure` renders
 * into kubernetes/cluster-values/ingress/ and kubernetes/infrastructure includes before the cluster
 * values. Kustomize cannot include a resource depending on a value, so the choice is structural:
 *
 * - public: the component deletes the Applications labelled for the tunnel (cloudflared), so the
 *   tree syncs exactly what it did before the tunnel existed;
 * - tunnel, both: it keeps them and tells external-dns to leave the tunnel's names alone
 *   (`excludeDomains`), so external-dns never publishes a record for a name the tunnel serves.
 */
import { stringify } from "yaml";
import { tunnelEnabled, tunnelHostnames } from "../config/derived.js";
import { externalDnsExclusion } from "../config/hostnames.js";
import type { ClusterConfig } from "../config/schema.js";

/** The label that marks an Argo CD Application as part of the tunnel (kubernetes/infrastructure/cloudflared.yaml). */
export const TUNNEL_APP_LABEL = { key: "infra-k3s.io/ingress", value: "tunnel" } as const;

/** The Application whose values get the exclusions. */
const EXTERNAL_DNS_APP = "external-dns";

/** What the component's header says about the mode, under the rendered-file header. */
export function ingressComponentComment(config: ClusterConfig): string {
  if (!tunnelEnabled(config)) {
    return " ingress.mode: public — no Cloudflare Tunnel: the Applications labelled infra-k3s.io/ingress=tunnel are left out.";
  }
  return ` ingress.mode: ${config.ingress.mode} — the Cloudflare Tunnel serves ${tunnelHostnames(config).join(", ")}; external-dns leaves those names alone.`;
}

/** The Component's content for the configured mode. */
export function ingressComponent(config: ClusterConfig): Record<string, unknown> {
  const component = { apiVersion: "kustomize.config.k8s.io/v1alpha1", kind: "Component" };
  if (!tunnelEnabled(config)) {
    return {
      ...component,
      patches: [
        {
          target: {
            group: "argoproj.io",
            kind: "Application",
            labelSelector: `${TUNNEL_APP_LABEL.key}=${TUNNEL_APP_LABEL.value}`,
          },
          patch: stringify({
            $patch: "delete",
            apiVersion: "argoproj.io/v1alpha1",
            kind: "Application",
            metadata: { name: "tunnel-applications" },
          }).trimEnd(),
        },
      ],
    };
  }
  return {
    ...component,
    patches: [
      {
        target: { group: "argoproj.io", kind: "Application", name: EXTERNAL_DNS_APP },
        patch: stringify([
          {
            op: "add",
            path: "/spec/source/helm/valuesObject/excludeDomains",
            value: externalDnsExclusions(config),
          },
        ]).trimEnd(),
      },
    ],
  };
}

/** external-dns's `excludeDomains`: one entry per tunnel host name pattern. */
export function externalDnsExclusions(config: ClusterConfig): string[] {
  return tunnelHostnames(config).map(externalDnsExclusion);
}
