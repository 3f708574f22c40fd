/**
 * Every secret the repository needs, where each one lives, and which input it comes from. The
 * user gives four values (`infra init` reads them from the environment or asks); two are generated
 * once and then kept. A static test holds this list to the committed tree (the `*.sops.yaml`
 * Secrets under kubernetes/ and vault.yml.example's keys), so neither can drift.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { stringify } from "yaml";

/** What the user provides. */
export type InputId = "tailscaleAuthKey" | "cloudflareApiToken" | "r2AccessKeyId" | "r2SecretAccessKey";
/** What is generated once and never changed by `init`. */
export type GeneratedId = "k3sToken" | "veleroRepositoryPassword";
export type SecretId = InputId | GeneratedId;
export type SecretValues = Record<SecretId, string>;

export const SECRET_LABELS: Readonly<Record<SecretId, string>> = {
  tailscaleAuthKey: "Tailscale auth key",
  cloudflareApiToken: "Cloudflare API token",
  r2AccessKeyId: "R2 access key id",
  r2SecretAccessKey: "R2 secret access key",
  k3sToken: "K3s cluster token",
  veleroRepositoryPassword: "Kopia repository password",
};

/** Generated once, then kept: a new K3s token breaks joins, a new Kopia password the backups. */
export const GENERATED: readonly GeneratedId[] = ["k3sToken", "veleroRepositoryPassword"];

export interface SecretInput {
  id: InputId;
  /**
   * The environment variable `infra init` reads it from. The R2 keys deliberately do not use
   * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: those may hold a real AWS account's keys.
   */
  env: string;
  question: string;
}

export const SECRET_INPUTS: readonly SecretInput[] = [
  {
    id: "tailscaleAuthKey",
    env: "TAILSCALE_AUTH_KEY",
    question:
      "Tailscale auth key (reusable, pre-approved, tagged, not ephemeral; or a headscale pre-auth key)",
  },
  {
    id: "cloudflareApiToken",
    env: "CLOUDFLARE_API_TOKEN",
    question:
      "Cloudflare API token (Zone:Read and DNS:Edit on the zone, Workers R2 Storage:Edit on the account)",
  },
  {
    id: "r2AccessKeyId",
    env: "R2_ACCESS_KEY_ID",
    question: "R2 access key id (an R2 API token's S3 Access Key ID)",
  },
  {
    id: "r2SecretAccessKey",
    env: "R2_SECRET_ACCESS_KEY",
    question: "R2 secret access key (the same token's S3 Secret Access Key)",
  },
];

/** 32 random bytes as hex: the K3s token (as `openssl rand -hex 32`) and the Kopia repository password. */
export function generateSecret(): string {
  return randomBytes(32).toString("hex");
}

/**
 * Secrets travel through YAML, Ansible (Jinja) and shells: a value is one token of printable,
 * non-space characters without quotes, braces or backslashes. Every real auth key, API token and
 * access key has that form. Returns why a value is refused, or undefined.
 */
export function secretProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (value.length > 4096) return "is longer than 4096 characters";
  if (/\s/.test(value)) return "contains white space (a pasted line break?)";
  if (!/^[\x21-\x7e]+$/.test(value)) return "contains characters outside printable ASCII";
  if (/["'`\\{}$]/.test(value)) return "contains a quote, brace, backslash or $ (not a token)";
  return undefined;
}

// ---- Ansible Vault ------------------------------------------------------------------------------

export const VAULT_PATH = join("ansible", "inventory", "group_vars", "all", "vault.yml");

/** vault.yml's keys (group_vars/all/main.yml maps them onto the roles' variables). */
export const VAULT_KEYS: Readonly<Record<string, SecretId>> = {
  vault_tailscale_authkey: "tailscaleAuthKey",
  vault_k3s_token: "k3sToken",
  vault_etcd_s3_access_key: "r2AccessKeyId",
  vault_etcd_s3_secret_key: "r2SecretAccessKey",
};

/**
 * Keys vault.yml.example documents that the user adds by hand (`ansible-vault edit`), never `init`:
 * headscale's API key, with which the preflight checks the auth key. `init` keeps them, and any other
 * key the user added (an agent's auth key, docs/networking.md), when it rewrites the vault.
 */
export const USER_VAULT_KEYS: readonly string[] = ["vault_tailscale_api_key"];

export function vaultPlaintext(values: SecretValues, userEntries: Record<string, unknown> = {}): string {
  const body = {
    ...Object.fromEntries(Object.entries(VAULT_KEYS).map(([key, id]) => [key, values[id]])),
    ...userEntries,
  };
  return [
    "# Ansible Vault written by `infra init` (see vault.yml.example for what each key is).",
    "# Change a value with `ansible-vault edit`; never change vault_k3s_token of a running cluster.",
    stringify(body, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" }),
  ].join("\n");
}

/** Every key of a vault that is not init's own (USER_VAULT_KEYS and whatever else the user added), as it is. */
export function vaultUserEntries(document: unknown): Record<string, unknown> {
  if (typeof document !== "object" || document === null || Array.isArray(document)) return {};
  return Object.fromEntries(Object.entries(document).filter(([key]) => !Object.hasOwn(VAULT_KEYS, key)));
}

export function vaultValues(document: unknown): Partial<SecretValues> {
  const values: Partial<SecretValues> = {};
  if (typeof document !== "object" || document === null) return values;
  for (const [key, id] of Object.entries(VAULT_KEYS)) {
    const value = (document as Record<string, unknown>)[key];
    if (typeof value === "string" && value) values[id] = value;
  }
  return values;
}

// ---- SOPS-encrypted Secrets ---------------------------------------------------------------------

/** One `stringData` key of a Secret: how it is built from the values, and read back. */
interface Field {
  key: string;
  /** The values it carries. */
  ids: SecretId[];
  encode(values: SecretValues): string;
  decode(text: string): Partial<SecretValues>;
}

const direct = (key: string, id: SecretId): Field => ({
  key,
  ids: [id],
  encode: (values) => values[id],
  decode: (text) => ({ [id]: text }),
});

/** Velero's AWS plugin reads an AWS credentials file; R2 takes the same form. */
const awsCredentials = (key: string): Field => ({
  key,
  ids: ["r2AccessKeyId", "r2SecretAccessKey"],
  encode: (v) =>
    `[default]\naws_access_key_id=${v.r2AccessKeyId}\naws_secret_access_key=${v.r2SecretAccessKey}\n`,
  decode: (text) => {
    const get = (name: string) => text.match(new RegExp(`^\\s*${name}\\s*=\\s*(\\S+)\\s*$`, "m"))?.[1];
    const values: Partial<SecretValues> = {};
    const id = get("aws_access_key_id");
    const secret = get("aws_secret_access_key");
    if (id) values.r2AccessKeyId = id;
    if (secret) values.r2SecretAccessKey = secret;
    return values;
  },
});

export interface SopsSecret {
  /** Relative to the repository root. */
  path: string;
  namespace: string;
  name: string;
  fields: Field[];
}

export const SOPS_SECRETS: readonly SopsSecret[] = [
  {
    path: "kubernetes/infrastructure/cert-manager/cloudflare-api-token.sops.yaml",
    namespace: "cert-manager",
    name: "cloudflare-api-token",
    fields: [direct("api-token", "cloudflareApiToken")],
  },
  {
    path: "kubernetes/infrastructure/external-dns/cloudflare-api-token.sops.yaml",
    namespace: "external-dns",
    name: "cloudflare-api-token",
    fields: [direct("api-token", "cloudflareApiToken")],
  },
  {
    path: "kubernetes/infrastructure/velero/config/velero-r2.sops.yaml",
    namespace: "velero",
    name: "velero-r2",
    fields: [awsCredentials("cloud")],
  },
  {
    path: "kubernetes/infrastructure/velero/config/velero-repo-credentials.sops.yaml",
    namespace: "velero",
    name: "velero-repo-credentials",
    fields: [direct("repository-password", "veleroRepositoryPassword")],
  },
];

/** The Secret as plaintext YAML, before sops encrypts its stringData. */
export function sopsPlaintext(secret: SopsSecret, values: SecretValues): string {
  const file = secret.path.split("/").pop() ?? secret.path;
  const document = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secret.name, namespace: secret.namespace },
    type: "Opaque",
    stringData: Object.fromEntries(secret.fields.map((f) => [f.key, f.encode(values)])),
  };
  return [
    "# yamllint disable rule:line-length",
    `# Written by \`infra init\`, encrypted with SOPS for the age recipients in .sops.yaml. Edit: \`sops ${file}\`.`,
    stringify(document, { blockQuote: "literal" }),
  ].join("\n");
}

/** The values a decrypted Secret holds (only the fields this catalog knows). */
export function sopsValues(secret: SopsSecret, document: unknown): Partial<SecretValues> {
  const data = (document as { stringData?: Record<string, unknown> } | null)?.stringData ?? {};
  const values: Partial<SecretValues> = {};
  for (const field of secret.fields) {
    const text = data[field.key];
    if (typeof text === "string" && text) Object.assign(values, field.decode(text));
  }
  return values;
}

/** The Secret that holds a value (e.g. where `infra secrets env` finds the Cloudflare token). */
export function sopsSecretHolding(id: SecretId): SopsSecret {
  const secret = SOPS_SECRETS.find((s) => s.fields.some((f) => f.ids.includes(id)));
  if (!secret) throw new Error(`no SOPS secret holds ${id}`);
  return secret;
}
