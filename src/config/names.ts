/**
 * Names as the consuming components define them: DNS names (Cloudflare, cert-manager), Kubernetes
 * qualified names, label values and taints (apimachinery's validation, as the kubelet applies it to
 * K3s's `node-label`/`node-taint`), and the labels a kubelet may set on its own Node.
 */
import { quote } from "./words.js";

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DOMAIN =
  /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** apimachinery's IsQualifiedName: `[prefix/]name`; undefined when valid, else why not. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return "it has more than one '/'";
  const name = parts[parts.length - 1] ?? "";
  if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    if (prefix === "") return "the prefix before '/' is empty";
    if (prefix.length > 253) return "the prefix before '/' is longer than 253 characters";
    if (!DNS_SUBDOMAIN.test(prefix)) return "the prefix before '/' is not a lowercase DNS name";
  }
  if (name === "") return "the name is empty";
  if (name.length > 63) return "the name is longer than 63 characters";
  if (!NAME.test(name))
    return "the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
}

/** apimachinery's IsValidLabelValue. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return "it is longer than 63 characters";
  if (!VALUE.test(value))
    return "it must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
}

/** The kubelet's allowed self-labels (k8s.io/kubelet `KubeletLabels`, `KubeletLabelNamespaces`). */
export const KUBELET_LABELS: readonly string[] = [
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/instance-type",
  "beta.kubernetes.io/os",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "kubernetes.io/arch",
  "kubernetes.io/hostname",
  "kubernetes.io/os",
  "node.kubernetes.io/instance-type",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
];
export const KUBELET_LABEL_NAMESPACES: readonly string[] = ["kubelet.kubernetes.io", "node.kubernetes.io"];

const inNamespace = (namespace: string, domain: string) =>
  namespace === domain || namespace.endsWith(`.${domain}`);

/**
 * True when the kubelet refuses to start with this label in `--node-labels` (which K3s's
 * `node-label` feeds): a `kubernetes.io` or `k8s.io` prefix outside the allowed set.
 */
export function kubeletRefusesLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash === -1) return false;
  const namespace = key.slice(0, slash);
  if (!inNamespace(namespace, "kubernetes.io") && !inNamespace(namespace, "k8s.io")) return false;
  if (KUBELET_LABELS.includes(key)) return false;
  return !KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(namespace, allowed));
}

export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

/** apimachinery's ParseTaint (`key[=value]:Effect`), with the effect required as Node objects need. */
export function parseTaint(text: string): Taint | string {
  const parts = text.split(":");
  if (parts.length !== 2) return parts.length === 1 ? "it has no :Effect" : "it has more than one ':'";
  const effect = parts[1] ?? "";
  if (!(TAINT_EFFECTS as readonly string[]).includes(effect))
    return `the effect ${quote(effect)} is not NoSchedule, PreferNoSchedule or NoExecute`;
  const keyValue = (parts[0] ?? "").split("=");
  if (keyValue.length > 2) return "it has more than one '='";
  const key = keyValue[0] ?? "";
  const value = keyValue[1] ?? "";
  const keyProblem = qualifiedNameProblem(key);
  if (keyProblem) return `the key: ${keyProblem}`;
  const valueProblem = labelValueProblem(value);
  if (valueProblem) return `the value: ${valueProblem}`;
  return { key, value, effect };
}
