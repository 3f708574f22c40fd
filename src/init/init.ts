/**
 * `infra init`: writes cluster.yaml (from questions, or from flags), an age key outside the
 * repository and `.sops.yaml` with its public key. It never overwrites a file without asking
 * (or `--yes`); an existing age key is reused, never replaced. The generated config is
 * validated before anything is written.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { z } from "zod";
import { exec } from "../adapters/exec.js";
import { K3S_DEFAULT_VERSION } from "../config/k3s-version.js";
import { CONFIG_FILE, configError, validateConfigText } from "../config/load.js";
import { type CheckParams, ClusterConfig, Node, PROVIDERS } from "../config/schema.js";
import { readConfigFile } from "../config/source-file.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import {
  clusterYamlText,
  EXAMPLE_SOPS_MARKER,
  INIT_DEFAULTS,
  type InitAnswers,
  type InitNode,
  sopsYamlText,
} from "./cluster-template.js";

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
  yes?: boolean;
}

/** Typed options from the parsed flags (cli.ts). */
export function initOptions(o: Record<string, unknown>): InitOptions {
  const options: InitOptions = { node: Array.isArray(o.node) ? o.node.map(String) : [], yes: o.yes === true };
  const keys = [
    "name",
    "domain",
    "cloudflareAccountId",
    "acmeEmail",
    "acmeEnvironment",
    "gitRepoUrl",
    "gitRevision",
    "k3sVersion",
    "bucket",
    "ageKeyFile",
  ] as const;
  for (const key of keys) if (typeof o[key] === "string") options[key] = o[key] as string;
  return options;
}

/** How init asks questions; the terminal by default, a script in tests. */
export interface Prompter {
  ask(question: string, fallback?: string): Promise<string>;
  /** Says why an answer was not accepted (the question is then asked again). */
  tell(message: string): Promise<void>;
  close(): void;
}

export interface InitResult {
  files: { path: string; action: "written" | "replaced" | "unchanged" | "reused" }[];
  ageKeyFile: string;
  ageRecipient: string;
  next: string[];
}

export async function initCommand(
  ctx: CommandContext,
  options: InitOptions,
  prompter?: Prompter,
): Promise<Outcome<InitResult>> {
  const io = prompter ?? (ctx.interactive ? await terminalPrompter(ctx.signal) : undefined);
  try {
    return await runInit(ctx, options, io);
  } finally {
    io?.close();
  }
}

async function runInit(
  ctx: CommandContext,
  options: InitOptions,
  io: Prompter | undefined,
): Promise<Outcome<InitResult>> {
  const answers = await gatherAnswers(ctx, options, io);
  const text = clusterYamlText(answers);
  const { problems } = validateConfigText(text, `${CONFIG_FILE} (not written)`);
  if (problems.some((p) => p.severity === "error"))
    throw configError(`${CONFIG_FILE} (not written)`, problems);

  const configPath = join(ctx.cwd, CONFIG_FILE);
  const sopsPath = join(ctx.cwd, ".sops.yaml");
  const keyPath = resolveKeyPath(ctx, options.ageKeyFile, answers.name);
  await refuseTrackedKey(ctx, keyPath);

  // Decide every file before writing any, so a refusal leaves nothing half-done.
  const writeConfig = await mayWrite(configPath, text, "cluster.yaml", options, io);
  const key = existsSync(keyPath) ? await readAgeKey(keyPath) : undefined;
  const recipient = key?.recipient ?? "";
  const files: InitResult["files"] = [];

  let identity: { secret: string; recipient: string } | undefined;
  if (!key) {
    const age = await import("age-encryption");
    const secret = await age.generateIdentity();
    identity = { secret, recipient: await age.identityToRecipient(secret) };
  }
  const ageRecipient = identity?.recipient ?? recipient;
  const sopsText = sopsYamlText(answers.name, ageRecipient, displayHome(ctx, keyPath));
  const sopsCurrent = existsSync(sopsPath) ? await readConfigFile(sopsPath, ".sops.yaml") : undefined;
  const sopsIsExample = sopsCurrent?.includes(EXAMPLE_SOPS_MARKER) === true;
  const writeSops =
    sopsCurrent === undefined || sopsIsExample
      ? sopsCurrent === sopsText
        ? "unchanged"
        : "write"
      : await mayWrite(sopsPath, sopsText, ".sops.yaml", options, io);

  if (identity) {
    await mkdir(dirname(keyPath), { recursive: true, mode: 0o700 });
    const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await writeFile(
      keyPath,
      `# created: ${created}\n# public key: ${identity.recipient}\n${identity.secret}\n`,
      {
        mode: 0o600,
        flag: "wx",
      },
    );
    await chmod(keyPath, 0o600);
    files.push({ path: keyPath, action: "written" });
  } else {
    files.push({ path: keyPath, action: "reused" });
  }
  if (writeConfig === "write") {
    const existed = existsSync(configPath);
    await writeFile(configPath, text);
    files.push({ path: CONFIG_FILE, action: existed ? "replaced" : "written" });
  } else files.push({ path: CONFIG_FILE, action: "unchanged" });
  if (writeSops === "write") {
    await writeFile(sopsPath, sopsText);
    files.push({ path: ".sops.yaml", action: sopsCurrent === undefined ? "written" : "replaced" });
  } else files.push({ path: ".sops.yaml", action: "unchanged" });

  const next = [
    `export SOPS_AGE_KEY_FILE=${displayHome(ctx, keyPath)}   # (or put it in .envrc)`,
    "back up the age key somewhere safe outside this machine: without it the cluster's secrets cannot be decrypted",
    "infra configure   # render ansible/, tofu/ and kubernetes/ from cluster.yaml",
    "infra plan        # see what `infra up` would do",
  ];
  return outcome({ files, ageKeyFile: keyPath, ageRecipient, next }, renderInit);
}

function renderInit(result: InitResult): string {
  const lines = result.files.map(
    (f) => `${f.action === "unchanged" ? "=" : "✓"} ${f.action.padEnd(9)} ${f.path}`,
  );
  lines.push("", `age public key: ${result.ageRecipient}`, "", "next:");
  for (const step of result.next) lines.push(`  ${step}`);
  return lines.join("\n");
}

/** "write" or "unchanged"; throws when the file differs and neither --yes nor a "yes" answer allows it. */
async function mayWrite(
  path: string,
  content: string,
  label: string,
  options: InitOptions,
  io: Prompter | undefined,
): Promise<"write" | "unchanged"> {
  if (!existsSync(path)) return "write";
  // Read as a config file is read: a directory or FIFO in its place is a located error, not a crash.
  if ((await readConfigFile(path, label)) === content) return "unchanged";
  if (options.yes) return "write";
  if (io) {
    const answer = await io.ask(`${label} exists and differs. Overwrite it? [y/N]`, "n");
    if (/^y(es)?$/i.test(answer.trim())) return "write";
    throw new InfraError("INIT_DECLINED", `${label} was kept; nothing was written`, {
      kind: "usage",
      location: { file: label },
      hint: `move ${label} aside, or answer yes to replace it`,
    });
  }
  throw new InfraError("INIT_WOULD_OVERWRITE", `${label} already exists; nothing was written`, {
    kind: "usage",
    location: { file: label },
    hint: `pass --yes to replace it, or move it aside first`,
  });
}

function resolveKeyPath(ctx: CommandContext, option: string | undefined, cluster: string): string {
  if (option) return resolve(ctx.cwd, expandHome(ctx, option));
  const config = ctx.env.XDG_CONFIG_HOME || join(ctx.env.HOME ?? "~", ".config");
  return join(config, "sops", "age", `${cluster}.txt`);
}

function expandHome(ctx: CommandContext, path: string): string {
  return path === "~" || path.startsWith("~/") ? join(ctx.env.HOME ?? "~", path.slice(1)) : path;
}

function displayHome(ctx: CommandContext, path: string): string {
  const home = ctx.env.HOME;
  return home && path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
}

/** A key inside the repository must be git-ignored: a private key is never committed. */
async function refuseTrackedKey(ctx: CommandContext, keyPath: string): Promise<void> {
  const rel = relative(ctx.cwd, keyPath);
  if (rel.startsWith("..") || isAbsolute(rel)) return;
  const result = await exec("git", ["check-ignore", "-q", "--", rel], { cwd: ctx.cwd, check: false }).catch(
    () => undefined,
  );
  // 0: ignored; 1: not ignored; 128: not a Git repository (nothing to commit it to).
  if (result && result.exitCode === 1) {
    throw new InfraError(
      "AGE_KEY_NOT_IGNORED",
      `the age key path ${rel} is inside the repository and not git-ignored`,
      {
        kind: "usage",
        location: { file: rel },
        hint: "leave --age-key-file out (the key then goes to ~/.config/sops/age/), or use a path .gitignore covers (e.g. *.agekey)",
      },
    );
  }
}

async function readAgeKey(path: string): Promise<{ recipient: string }> {
  const text = await readFile(path, "utf8");
  const secret = text.split("\n").find((line) => line.startsWith("AGE-SECRET-KEY-"));
  if (!secret) {
    throw new InfraError("AGE_KEY_INVALID", `${path} exists but holds no age secret key`, {
      kind: "usage",
      location: { file: path },
      hint: "point --age-key-file at another path; infra init never overwrites a key file",
    });
  }
  const age = await import("age-encryption");
  return { recipient: await age.identityToRecipient(secret.trim()) };
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

/** Questions on the terminal (stderr, so stdout stays data). Ctrl+C or Ctrl+D stops init before any write. */
async function terminalPrompter(signal: AbortSignal | undefined): Promise<Prompter> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const stop = new AbortController();
  rl.on("SIGINT", () => stop.abort());
  rl.on("close", () => stop.abort());
  signal?.addEventListener("abort", () => stop.abort(), { once: true });
  return {
    ask: async (question, fallback) => {
      try {
        return await rl.question(`${question}${fallback ? ` [${fallback}]` : ""}: `, { signal: stop.signal });
      } catch (error) {
        if (stop.signal.aborted || (error as Error).name === "AbortError") {
          throw new InfraError("INIT_ABORTED", "init stopped at a question; nothing was written", {
            kind: "interrupted",
            hint: "run `infra init` again, or pass the answers as flags (see `infra init --help`)",
          });
        }
        throw error;
      }
    },
    tell: async (message) => {
      process.stderr.write(`  ✗ ${message}\n`);
    },
    close: () => rl.close(),
  };
}
