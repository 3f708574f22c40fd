import type { Finding } from "../findings.js";
import type { Tree } from "../resources.js";
import { apiRemoved } from "./api-removed.js";
import { argocdApplicationHealth, argocdAppPath, ksopsHelmApp, remoteSourcePinned } from "./argocd.js";
import { issuerSecretNamespace } from "./cert-manager.js";
import { dnsNameCollision } from "./dns.js";
import { externalDnsOwnerId, externalDnsPolicy } from "./external-dns.js";
import { gatewayCertNamespace, gatewayHttpsListener, gatewayListenerPort } from "./gateway.js";
import { certificateHostnames, hostnameDomain } from "./hostnames.js";
import { imageTag, serviceSelector, workloadProbes, workloadResources, workloadRoot } from "./hygiene.js";
import { orphanFolder, orphanManifest } from "./orphans.js";
import { pinnedVersions } from "./pins.js";
import { routeBackend, routeParent } from "./routes.js";
import type { Rule } from "./rule.js";
import { secretPlaintext, sopsEncrypted, sopsRecipients } from "./secrets.js";
import { tunnelRules } from "./tunnel.js";
import {
  localPathVolumeType,
  veleroAwsPlugin,
  veleroR2Checksum,
  veleroSchedule,
  veleroUpgradeCrds,
} from "./velero.js";

/** Every stack rule, in the order the docs list them. */
export const RULES: readonly Rule[] = [
  veleroR2Checksum,
  veleroAwsPlugin,
  veleroUpgradeCrds,
  localPathVolumeType,
  gatewayListenerPort,
  gatewayHttpsListener,
  gatewayCertNamespace,
  externalDnsPolicy,
  externalDnsOwnerId,
  issuerSecretNamespace,
  secretPlaintext,
  sopsEncrypted,
  sopsRecipients,
  ksopsHelmApp,
  argocdAppPath,
  argocdApplicationHealth,
  pinnedVersions,
  dnsNameCollision,
  routeParent,
  routeBackend,
  certificateHostnames,
  hostnameDomain,
  remoteSourcePinned,
  veleroSchedule,
  orphanManifest,
  orphanFolder,
  apiRemoved,
  workloadResources,
  workloadProbes,
  workloadRoot,
  imageTag,
  serviceSelector,
  ...tunnelRules,
  (await import("./tailnet.js")).tailnetPolicy,
];

export function runRules(tree: Tree, rules: readonly Rule[] = RULES): Finding[] {
  return rules.flatMap((rule) => rule.check(tree));
}
