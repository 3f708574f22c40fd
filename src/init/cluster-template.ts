/** The commented cluster.yaml that `infra init` writes, from the answers to its questions. */
import { stringify } from "yaml";
import { K3S_DEFAULT_VERSION } from "../config/k3s-version.js";

export interface InitNode {
  name: string;
  role: "server" | "agent";
  provider: string;
  region: string;
  publicIPv4: string;
  tailscaleIPv4?: string;
  user?: string;
  ingress: boolean;
}

export interface InitAnswers {
  name: string;
  domain: string;
  accountId: string;
  email: string;
  acmeEnvironment: "staging" | "production";
  repoURL: string;
  revision: string;
  k3sVersion: string;
  bucket: string;
  nodes: InitNode[];
}

export const INIT_DEFAULTS = {
  k3sVersion: K3S_DEFAULT_VERSION,
  revision: "main",
  acmeEnvironment: "staging",
} as const;

/** A YAML scalar as it must appear in the file (quoted when YAML would read it as something else). */
function v(value: string | number | boolean): string {
  return stringify(value).trimEnd();
}

export function clusterYamlText(a: InitAnswers): string {
  const nodes = a.nodes.flatMap((node) => [
    `  - name: ${v(node.name)}`,
    `    role: ${v(node.role)}`,
    `    provider: ${v(node.provider)}`,
    `    region: ${v(node.region)}`,
    `    publicIPv4: ${v(node.publicIPv4)}`,
    ...(node.tailscaleIPv4 ? [`    tailscaleIPv4: ${v(node.tailscaleIPv4)}`] : []),
    ...(node.user ? ["    ssh:", `      user: ${v(node.user)}`] : []),
    `    ingress: ${v(node.ingress)}`,
  ]);
  return [
    "# yaml-language-server: $schema=./schema/cluster.schema.json",
    "# The cluster, written by `infra init`. Every key is explained in cluster.example.yaml and",
    "# docs/configuration.md. After editing, run `infra configure` and commit the rendered files.",
    "# No secrets here: tokens and auth keys live in .envrc, Ansible Vault and SOPS.",
    "version: 1",
    `name: ${v(a.name)}`,
    `domain: ${v(a.domain)}`,
    "cloudflare:",
    `  accountId: "${a.accountId}"`,
    "k3s:",
    `  version: ${v(a.k3sVersion)}`,
    "  clusterCidr: 10.42.0.0/16",
    "  serviceCidr: 10.43.0.0/16",
    "tailscale:",
    "  tags:",
    "    - tag:k8s",
    "ssh:",
    "  user: root",
    "  port: 22",
    "# At least one server (three for HA, at one provider); at least one node with ingress: true.",
    "nodes:",
    ...nodes,
    "acme:",
    `  email: ${v(a.email)}`,
    `  environment: ${v(a.acmeEnvironment)}`,
    "backup:",
    "  bucket:",
    `    name: ${v(a.bucket)}`,
    "  velero:",
    "    prefix: velero",
    "  etcd:",
    "    enabled: true",
    "    folder: etcd",
    "gitops:",
    `  repoURL: ${v(a.repoURL)}`,
    `  revision: ${v(a.revision)}`,
    "",
  ].join("\n");
}

/** `.sops.yaml`: KSOPS/SOPS encrypt the data of `kubernetes/**.sops.yaml` Secrets for this age key. */
export function sopsYamlText(clusterName: string, recipient: string, keyFile: string): string {
  return [
    `# SOPS rules, written by \`infra init\` for cluster ${clusterName}. Only the age PUBLIC key is here.`,
    `# The private key is ${keyFile} (outside Git); point SOPS at it with SOPS_AGE_KEY_FILE.`,
    "creation_rules:",
    "  - path_regex: kubernetes/.*\\.sops\\.ya?ml$",
    "    encrypted_regex: ^(data|stringData)$",
    `    age: ${recipient}`,
    "",
  ].join("\n");
}

/** Marks the committed example .sops.yaml, which `infra init` replaces without asking. */
export const EXAMPLE_SOPS_MARKER = "# infra-k3s: example recipient";
