/**
 * `infra init`: writes cluster.yaml (from questions, or from flags), an age key outside the
 * repository, `.sops.yaml` with its public key, the Ansible vault (encrypted by ansible-vault, with
 * a password file outside the repository), every SOPS-encrypted Secret the tree needs (by sops, for
 * the new key) and `.envrc`. Secrets come from the environment or hidden questions, never flags.
 * Everything is decided and encrypted before anything is written, then renamed into place; an
 * existing file that would change is replaced only after a "yes" (or `--yes`), and what is already
 * there and readable is kept (the age key, the K3s token, the Kopia password are never replaced).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { exec } from "../adapters/exec.js";
import { K3S_DEFAULT_VERSION } from "../config/k3s-version.js";
import { CONFIG_FILE, configError, validateConfigText } from "../config/load.js";
import { type CheckParams, ClusterConfig, Node, PROVIDERS } from "../config/schema.js";
import { readConfigFile } from "../config/source-file.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { newAgeKey, readAgeKeyFile } from "../secrets/age-key.js";
import { SECRET_LABELS } from "../secrets/catalog.js";
import { ENVRC, ENVRC_EXAMPLE, envrcText } from "../secrets/envrc.js";
import { displayHome, type PrivateFiles, privateFiles, refuseTracked } from "../secrets/paths.js";
import { StagedFiles } from "../secrets/staged.js";
import { ageRecipientsIn, type ToolRun, toolRun } from "../secrets/state.js";
import { TOKEN_ENV } from "../tunnel/secret.js";
import { checkedTunnelToken } from "../tunnel/token.js";
import {
  clusterYamlText,
  EXAMPLE_SOPS_MARKER,
  INIT_DEFAULTS,
  type InitAnswers,
  type InitNode,
  sopsYamlText,
} from "./cluster-template.js";
import { confirmReplace, type Prompter, type ReplaceReason, terminalPrompter } from "./prompter.js";
import { type FileAction, type SecretsOutcome, secretsTree, stageSecrets } from "./secrets.js";
import { stageTailnetPolicy } from "./tailnet-policy.js";

export type { Prompter } from "./prompter.js";

export interface InitOptions {
  name?: string;
  domain?: string;
  cloudflareAccountId?: string;
  acmeEmail?: string;
  acmeEnvironment?: string;
  gitRepoUrl?: string;
  gitRevision?: string;
  k3sVersion?: string;
  bucket?: string;
  /** `name=...,role=...,provider=...,region=...,ip=...[,tailscale-ip=...][,user=...][,ingress]` */
  node?: string[];
  ageKeyFile?: string;
  vaultPasswordFile?: string;
  yes?: boolean;
}

/** The flags that describe the cluster (cluster.yaml's content), as opposed to the secrets' files. */
const CLUSTER_FLAGS = [
  "name",
  "domain",
  "cloudflareAccountId",
  "acmeEmail",
  "acmeEnvironment",
  "gitRepoUrl",
  "gitRevision",
  "k3sVersion",
  "bucket",
] as const;

/** Typed options from the parsed flags (cli.ts). */
export function initOptions(o: Record<string, unknown>): InitOptions {
  const options: InitOptions = { node: Array.isArray(o.node) ? o.node.map(String) : [], yes: o.yes === true };
  const keys = [...CLUSTER_FLAGS, "ageKeyFile", "vaultPasswordFile"] as const;
  for (const key of keys) if (typeof o[key] === "string") options[key] = o[key] as string;
  return options;
}

export interface InitResult {
  files: { path: string; action: FileAction }[];
  /** Where each secret came from: an environment variable, a question, kept, generated. */
  secrets: SecretsOutcome["sources"];
  ageKeyFile: string;
  ageRecipient: string;
  vaultPasswordFile: string;
  next: string[];
}

export async function initCommand(
  ctx: CommandContext,
  options: InitOptions,
  prompter?: Prompter,
): Promise<Outcome<InitResult>> {
  // The tools come first (when there are secrets to encrypt): finding one missing after all the
  // questions would waste the answers.
  const tree = secretsTree(ctx.cwd);
  const run: ToolRun =
    tree.vault || tree.secrets.length > 0
      ? await toolRun(ctx, "init", ["sops", "ansible-vault"])
      : { env: ctx.env };
  const io = prompter ?? (ctx.interactive ? await terminalPrompter(ctx.signal) : undefined);
  const staged = new StagedFiles(ctx.workdir ?? ctx.cwd);
  try {
    const result = await runInit(ctx, options, io, run, staged);
    await staged.commit();
    return result;
  } finally {
    await staged.discard();
    io?.close();
  }
}

async function runInit(
  ctx: CommandContext,
  options: InitOptions,
  io: Prompter | undefined,
  run: ToolRun,
  staged: StagedFiles,
): Promise<Outcome<InitResult>> {
  const configPath = join(ctx.cwd, CONFIG_FILE);
  const cluster =
    existsSync(configPath) && !describesCluster(options)
      ? await existingCluster(configPath)
      : await newCluster(ctx, options, io);
  const { name, text } = cluster;
  // Checked before any secret is asked for: a wrong tunnel token stops init with nothing written.
  const tunnelToken = ctx.env[TOKEN_ENV]?.trim()
    ? (await checkedTunnelToken(clusterConfig(text), CONFIG_FILE, ctx.env, ctx.cwd)).text
    : undefined;

  const sopsPath = join(ctx.cwd, ".sops.yaml");
  const files = privateFiles(ctx, name, options);
  await refuseTracked(ctx.cwd, files.ageKey, "age key");
  await refuseTracked(ctx.cwd, files.vaultPassword, "vault password file");

  // Decide every file before writing any, so a refusal leaves nothing half-done.
  const writeConfig = await decide(configPath, text, CONFIG_FILE, options, io);
  const key = existsSync(files.ageKey) ? await readAgeKeyFile(files.ageKey) : undefined;
  const created = key ? undefined : await newAgeKey();
  const ageRecipient = created?.recipient ?? key?.recipients[0] ?? "";
  const sopsText = sopsYamlText(name, ageRecipient, displayHome(ctx.env, files.ageKey));
  const sopsCurrent = existsSync(sopsPath)
    ? await readConfigFile(
        sopsPath,
        ".sops.yaml",
        ".sops.yaml must be a file: restore it (`git checkout -- .sops.yaml`) or remove what is there; nothing was changed",
      )
    : undefined;
  const sopsIsExample = sopsCurrent?.includes(EXAMPLE_SOPS_MARKER) === true;
  // The committed example (for a key nobody has) is replaced without asking; a user's own is not.
  const sopsIsOurs = sopsCurrent !== undefined && !sopsIsExample;
  const writeSops = sopsIsOurs
    ? await decide(
        sopsPath,
        sopsText,
        ".sops.yaml",
        options,
        io,
        sopsMismatch(sopsCurrent, ageRecipient, files),
      )
    : sopsCurrent === sopsText
      ? "unchanged"
      : "write";

  const result: InitResult["files"] = [];
  if (created) {
    await staged.stage(files.ageKey, created.text, { private: true, noClobber: true });
    result.push({ path: files.ageKey, action: "written" });
  } else result.push({ path: files.ageKey, action: "reused" });
  const sopsConfig = writeSops === "write" ? await staged.stage(sopsPath, sopsText) : sopsPath;
  if (writeConfig === "write") await staged.stage(configPath, text);
  result.push({
    path: CONFIG_FILE,
    action: writeConfig === "write" ? (existsSync(configPath) ? "replaced" : "written") : "unchanged",
  });
  result.push({
    path: ".sops.yaml",
    action: writeSops === "write" ? (sopsCurrent === undefined ? "written" : "replaced") : "unchanged",
  });

  const secrets = await stageSecrets(
    {
      root: ctx.cwd,
      env: ctx.env,
      run,
      files,
      keyExisted: key !== undefined,
      exampleRecipients: sopsIsExample && sopsCurrent ? ageRecipientsIn(sopsCurrent) : [],
      sopsConfig,
      yes: options.yes === true,
      io,
      tunnelToken,
    },
    staged,
  );
  result.push(...secrets.files);

  const policy = await stageTailnetPolicy(ctx.cwd, clusterConfig(text), staged);
  if (policy) result.push(policy);

  const envrc = await stageEnvrc(ctx, files, staged);
  result.push({ path: ENVRC, action: envrc.action });

  // The private files to back up: the key, and the vault's password file when there is a vault.
  const privateKept = [
    files.ageKey,
    ...secrets.files.filter((f) => f.path === files.vaultPassword).map((f) => f.path),
  ];
  const loadEnvrc =
    envrc.action === "written"
      ? [
          "direnv allow   # .envrc points SOPS_AGE_KEY_FILE and ANSIBLE_VAULT_PASSWORD_FILE at the files above (or: source .envrc)",
        ]
      : envrc.lines.map((line) => `${line}   # .envrc exists and was left alone: set this there`);
  const keptShown = privateKept.map((f) => displayHome(ctx.env, f)).join(" and ");
  const itOrThem = privateKept.length === 1 ? "it" : "them";
  const backUp = `back up ${keptShown} outside this machine: without ${itOrThem} the secrets cannot be decrypted`;
  const next = [
    ...loadEnvrc,
    backUp,
    "infra configure   # render ansible/, tofu/ and kubernetes/ from cluster.yaml",
    "infra check       # validate the repository offline (the secrets decrypt with your key)",
    "infra plan        # see what `infra up` would do",
    "git add -A && git commit -m 'infra init'   # every secret in it is encrypted",
  ];
  return outcome(
    {
      files: result,
      secrets: secrets.sources,
      ageKeyFile: files.ageKey,
      ageRecipient,
      vaultPasswordFile: files.vaultPassword,
      next,
    },
    renderInit,
  );
}

/** cluster.yaml's text, already validated by existingCluster or newCluster, as the config. */
function clusterConfig(text: string): ClusterConfig {
  const { config, problems } = validateConfigText(text, CONFIG_FILE);
  if (!config) throw configError(CONFIG_FILE, problems);
  return config;
}

function describesCluster(options: InitOptions): boolean {
  return CLUSTER_FLAGS.some((key) => options[key] !== undefined) || (options.node ?? []).length > 0;
}

/**
 * A re-run without cluster flags (e.g. to change a token) keeps cluster.yaml as it is, hand edits and
 * all, asking nothing about it; the file must be valid, since its name picks the private files.
 */
async function existingCluster(path: string): Promise<{ name: string; text: string }> {
  const text = await readConfigFile(path, CONFIG_FILE);
  const { config, problems } = validateConfigText(text, CONFIG_FILE);
  if (!config || problems.some((p) => p.severity === "error")) throw configError(CONFIG_FILE, problems);
  return { name: config.name, text };
}

/** cluster.yaml from the flags and the answers, validated before anything is written. */
async function newCluster(
  ctx: CommandContext,
  options: InitOptions,
  io: Prompter | undefined,
): Promise<{ name: string; text: string }> {
  const answers = await gatherAnswers(ctx, options, io);
  const text = clusterYamlText(answers);
  const { problems } = validateConfigText(text, `${CONFIG_FILE} (not written)`);
  if (problems.some((p) => p.severity === "error"))
    throw configError(`${CONFIG_FILE} (not written)`, problems);
  return { name: answers.name, text };
}

/** `.envrc` from `.envrc.example` with this cluster's paths, unless one exists (it may hold the user's own lines). */
async function stageEnvrc(
  ctx: CommandContext,
  files: PrivateFiles,
  staged: StagedFiles,
): Promise<{ action: FileAction; lines: string[] }> {
  const own = join(ctx.cwd, ENVRC_EXAMPLE);
  const template = await readFile(existsSync(own) ? own : join(PACKAGE_ROOT, ENVRC_EXAMPLE), "utf8");
  const wanted = envrcText(template, files, ctx.env);
  const path = join(ctx.cwd, ENVRC);
  if (!existsSync(path)) {
    await staged.stage(path, wanted, { noClobber: true });
    return { action: "written", lines: [] };
  }
  const present = (await readFile(path, "utf8").catch(() => "")).split("\n");
  const missing = wanted
    .split("\n")
    .filter((line) => /^export (SOPS_AGE_KEY_FILE|ANSIBLE_VAULT_PASSWORD_FILE)=/.test(line))
    .filter((line) => !present.includes(line));
  return { action: "unchanged", lines: missing };
}

function renderInit(result: InitResult): string {
  const lines = result.files.map(
    (f) => `${f.action === "unchanged" || f.action === "reused" ? "=" : "✓"} ${f.action.padEnd(9)} ${f.path}`,
  );
  lines.push("", "secrets:");
  for (const s of result.secrets) lines.push(`  ${SECRET_LABELS[s.secret].padEnd(26)} ${s.from}`);
  if (result.secrets.length === 0)
    lines.push("  none: no ansible/ or kubernetes/ tree here (run init in a clone of the repository)");
  lines.push("", `age public key: ${result.ageRecipient}`, "", "next:");
  for (const step of result.next) lines.push(`  ${step}`);
  return lines.join("\n");
}

/** "write" or "unchanged"; asks (or needs --yes) when the file exists and differs, saying `why`. */
async function decide(
  path: string,
  content: string,
  label: string,
  options: InitOptions,
  io: Prompter | undefined,
  reason: string | ReplaceReason = "exists and differs",
): Promise<"write" | "unchanged"> {
  if (!existsSync(path)) return "write";
  // Read as a config file is read: a directory or FIFO in its place is a located error, not a crash.
  if ((await readConfigFile(path, label)) === content) return "unchanged";
  await confirmReplace(label, reason, options.yes, io);
  return "write";
}

/**
 * Why the repository's own .sops.yaml would change. The likely cause is a different age key (another
 * cluster's, or SOPS_AGE_KEY_FILE pointing elsewhere): name both keys, since replacing it re-encrypts
 * every secret for the key given, and what that key cannot read (the Kopia password) is generated anew.
 */
function sopsMismatch(current: string, recipient: string, files: PrivateFiles): ReplaceReason {
  const named = ageRecipientsIn(current);
  if (named.length === 0 || named.includes(recipient)) return { why: "exists and differs" };
  return {
    why: `is for ${named.join(", ")}, but the age key ${files.ageKey} is ${recipient}`,
    hint: "point SOPS_AGE_KEY_FILE (or --age-key-file) at this repository's key (`source .envrc`); replacing it (--yes) re-encrypts every secret for the key given, and generates anew what that key cannot read (the Kopia password)",
  };
}

// ---- answers: flags first, then questions for what is missing --------------------------------

const NODE_KEYS = ["name", "role", "provider", "region", "ip", "tailscale-ip", "user", "ingress"];

export function parseNodeSpec(spec: string): InitNode {
  const fields = new Map<string, string>();
  for (const part of spec
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key = "", ...rest] = part.split("=");
    if (!NODE_KEYS.includes(key)) {
      throw new InfraError("INIT_NODE_SPEC_INVALID", `--node "${spec}": unknown field "${key}"`, {
        kind: "usage",
        hint: `fields: ${NODE_KEYS.join(", ")}; e.g. --node name=hetzner-1,role=server,provider=hetzner,region=fsn1,ip=203.0.113.10,ingress`,
      });
    }
    fields.set(key, rest.length === 0 ? "true" : rest.join("="));
  }
  const missing = ["name", "role", "provider", "region", "ip"].filter((key) => !fields.get(key));
  if (missing.length > 0) {
    throw new InfraError("INIT_NODE_SPEC_INVALID", `--node "${spec}": missing ${missing.join(", ")}`, {
      kind: "usage",
      hint: "e.g. --node name=hetzner-1,role=server,provider=hetzner,region=fsn1,ip=203.0.113.10,ingress",
    });
  }
  const node: InitNode = {
    name: fields.get("name") ?? "",
    role: fields.get("role") as InitNode["role"],
    provider: fields.get("provider") ?? "",
    region: fields.get("region") ?? "",
    publicIPv4: fields.get("ip") ?? "",
    ingress: /^(true|yes|1)$/i.test(fields.get("ingress") ?? "false"),
  };
  const tailscale = fields.get("tailscale-ip");
  if (tailscale) node.tailscaleIPv4 = tailscale;
  const user = fields.get("user");
  if (user) node.user = user;
  return node;
}

async function gatherAnswers(
  ctx: CommandContext,
  o: InitOptions,
  io: Prompter | undefined,
): Promise<InitAnswers> {
  const required: [keyof InitOptions, string][] = [
    ["name", "--name"],
    ["domain", "--domain"],
    ["cloudflareAccountId", "--cloudflare-account-id"],
    ["acmeEmail", "--acme-email"],
    ["gitRepoUrl", "--git-repo-url"],
  ];
  const missing = required.filter(([key]) => !o[key]).map(([, flag]) => flag);
  if (!o.node || o.node.length === 0) missing.push("--node");
  // Everything required came as flags: take the defaults for the rest instead of asking.
  const chat = missing.length > 0 ? io : undefined;
  if (!io) {
    if (missing.length > 0) {
      throw new InfraError(
        "INIT_MISSING_FLAGS",
        `not interactive, and ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing`,
        {
          kind: "usage",
          hint: "run `infra init` in a terminal to be asked, or pass every flag (see `infra init --help`)",
        },
      );
    }
  }
  /** A flag's value as given; otherwise the question, asked again until the answer is valid. */
  const ask = async (
    value: string | undefined,
    question: string,
    fallback: string | undefined,
    field: z.ZodType,
  ): Promise<string> => {
    if (value) return value;
    for (;;) {
      const answer = ((await chat?.ask(question, fallback))?.trim() ?? "") || fallback || "";
      const problem = fieldProblem(field, answer);
      if (!problem || !chat) return answer;
      await chat.tell(problem);
    }
  };
  const yesNo = z.string().regex(/^(y|yes|n|no)$/i, { error: "answer y or n" });
  const S = ClusterConfig.shape;
  const name = await ask(o.name, "Cluster name (a DNS label)", "prod", S.name);
  const domain = await ask(
    o.domain,
    "Base domain in your Cloudflare zone (e.g. example.com)",
    undefined,
    S.domain,
  );
  const accountId = await ask(
    o.cloudflareAccountId,
    "Cloudflare account id (32 hex characters)",
    undefined,
    S.cloudflare.shape.accountId,
  );
  const email = await ask(
    o.acmeEmail,
    "E-mail for Let's Encrypt",
    domain ? `ops@${domain}` : undefined,
    S.acme.shape.email,
  );
  const acmeEnvironment = (o.acmeEnvironment ??
    (chat
      ? await ask(
          undefined,
          "Let's Encrypt environment (staging|production)",
          "staging",
          S.acme.shape.environment,
        )
      : INIT_DEFAULTS.acmeEnvironment)) as "staging" | "production";
  const repoURL = await ask(
    o.gitRepoUrl,
    "Git repository Argo CD syncs from",
    await gitOrigin(ctx),
    S.gitops.shape.repoURL,
  );
  const revision =
    o.gitRevision ??
    (chat ? await ask(undefined, "Git revision", "main", S.gitops.shape.revision) : INIT_DEFAULTS.revision);
  const k3sVersion =
    o.k3sVersion ??
    (chat
      ? await ask(undefined, "K3s version", K3S_DEFAULT_VERSION, S.k3s.shape.version)
      : K3S_DEFAULT_VERSION);
  const bucket =
    o.bucket ??
    (chat
      ? await ask(undefined, "R2 bucket for backups", `${name}-backups`, S.backup.shape.bucket.shape.name)
      : `${name}-backups`);
  const nodes = (o.node ?? []).map(parseNodeSpec);
  if (nodes.length === 0 && chat) {
    const N = Node.shape;
    for (let index = 1; ; index++) {
      const role = await ask(
        undefined,
        `Node ${index} role (server|agent)`,
        index === 1 ? "server" : "agent",
        N.role,
      );
      const provider = await ask(
        undefined,
        `Node ${index} provider (${PROVIDERS.join("|")})`,
        "hetzner",
        N.provider,
      );
      const region = await ask(undefined, `Node ${index} region`, undefined, N.region);
      const nodeName = await ask(undefined, `Node ${index} name`, `${provider}-${region}-${index}`, N.name);
      const publicIPv4 = await ask(undefined, `Node ${index} public IPv4`, undefined, N.publicIPv4);
      const ingress = await ask(
        undefined,
        `Node ${index} serves public HTTP(S) ingress? (y/n)`,
        index === 1 ? "y" : "n",
        yesNo,
      );
      nodes.push({
        name: nodeName,
        role: role as InitNode["role"],
        provider,
        region,
        publicIPv4,
        ingress: /^y(es)?$/i.test(ingress),
      });
      if (!/^y(es)?$/i.test(await ask(undefined, "Add another node? (y/n)", "n", yesNo))) break;
    }
  }
  return { name, domain, accountId, email, acmeEnvironment, repoURL, revision, k3sVersion, bucket, nodes };
}

/** Why an answer is not valid for its field (message and hint), or undefined. */
function fieldProblem(field: z.ZodType, answer: string): string | undefined {
  const result = field.safeParse(answer);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const hint = (issue as { params?: CheckParams } | undefined)?.params?.hint;
  const message =
    issue?.code === "invalid_value"
      ? `use one of: ${issue.values.map(String).join(", ")}`
      : (issue?.message ?? "invalid");
  return hint ? `${message} — ${hint}` : message;
}

async function gitOrigin(ctx: CommandContext): Promise<string | undefined> {
  const result = await exec("git", ["remote", "get-url", "origin"], { cwd: ctx.cwd, check: false }).catch(
    () => undefined,
  );
  const url = result?.exitCode === 0 ? result.stdout.trim() : "";
  return url || undefined;
}
