/**
 * The secret half of `infra init`: the Ansible vault and the SOPS-encrypted Secrets, filled from
 * the environment or hidden questions, encrypted by the real ansible-vault and sops, and staged
 * (temporary files) so that init writes everything or nothing. What is already there and readable
 * is kept: a K3s token or a Kopia repository password is generated once and never replaced.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { vaultEncrypt } from "../adapters/ansible-vault.js";
import { sopsDecrypt, sopsEncrypt } from "../adapters/sops.js";
import { InfraError } from "../errors.js";
import {
  GENERATED,
  generateSecret,
  SECRET_INPUTS,
  type SecretId,
  type SecretInput,
  type SecretValues,
  SOPS_SECRETS,
  type SopsSecret,
  secretProblem,
  sopsPlaintext,
  VAULT_KEYS,
  VAULT_PATH,
  vaultPlaintext,
} from "../secrets/catalog.js";
import type { PrivateFiles } from "../secrets/paths.js";
import type { StagedFiles } from "../secrets/staged.js";
import { readSopsSecret, readVault, type SopsFile, type ToolRun, type VaultFile } from "../secrets/state.js";
import { PLACEHOLDER_MARKER, TOKEN_SECRET, TOKEN_SECRET_FILE, tokenSecretText } from "../tunnel/secret.js";
import { confirmReplace, type Prompter } from "./prompter.js";

export interface SecretsRequest {
  root: string;
  env: NodeJS.ProcessEnv;
  run: ToolRun;
  files: PrivateFiles;
  /** The age key existed before this run (so files encrypted for it can be read). */
  keyExisted: boolean;
  /** Recipients of the committed example .sops.yaml, when the repository still has it. */
  exampleRecipients: string[];
  /** The .sops.yaml to encrypt with (the one init is about to write). */
  sopsConfig: string;
  yes: boolean;
  io: Prompter | undefined;
  /** CLOUDFLARE_TUNNEL_TOKEN, already checked (checkedTunnelToken); undefined writes the placeholder. */
  tunnelToken: string | undefined;
}

export type FileAction = "written" | "replaced" | "unchanged" | "reused";

export interface SecretsOutcome {
  files: { path: string; action: FileAction }[];
  /** Where each value came from (never the value). */
  sources: { secret: SecretId; from: string }[];
}

/**
 * The secret files this repository has a place for: the vault when ansible/ has its group_vars, each
 * Secret when its component's folder exists (a component removed needs no secret; an empty folder
 * outside a clone needs none at all).
 */
export function secretsTree(root: string): { vault: boolean; secrets: SopsSecret[] } {
  const present = (path: string) => existsSync(dirname(join(root, path)));
  return { vault: present(VAULT_PATH), secrets: SOPS_SECRETS.filter((secret) => present(secret.path)) };
}

export async function stageSecrets(request: SecretsRequest, staged: StagedFiles): Promise<SecretsOutcome> {
  const { root, run, files } = request;
  const { vault: withVault, secrets: secretsHere } = secretsTree(root);
  if (!withVault && secretsHere.length === 0) return { files: [], sources: [] };

  const passwordExisted = existsSync(files.vaultPassword);
  if (withVault && passwordExisted) await requirePassword(files.vaultPassword);
  const vault: VaultFile = withVault ? await readVault(root, files.vaultPassword, run) : { state: "missing" };
  const keyFile = request.keyExisted ? files.ageKey : undefined;
  const sops = await Promise.all(
    secretsHere.map(async (secret) => ({
      secret,
      file: await readSopsSecret(
        root,
        secret,
        { keyFile, exampleRecipients: request.exampleRecipients },
        run,
      ),
    })),
  );

  // Values: the environment first, then what the files already hold, then a hidden question.
  const current: Partial<SecretValues> = {};
  for (const { file } of sops) if (file.state === "readable") Object.assign(current, file.values);
  if (vault.state !== "missing") Object.assign(current, vault.values);
  const { values, sources } = await resolveValues(request, current);

  // Decide every file before writing any.
  const outcome: SecretsOutcome = { files: [], sources };
  const vaultValuesNow = vault.state === "missing" ? {} : vault.values;
  const vaultSame =
    vault.state === "encrypted" && sameValues(vaultValuesNow, values, Object.values(VAULT_KEYS));
  if (!vaultSame && vault.state !== "missing") {
    await confirmReplace(
      VAULT_PATH,
      vault.state === "plaintext" ? "is not encrypted" : "holds other values",
      request.yes,
      request.io,
    );
  }
  const sopsWrites: { path: string; text: string; action: FileAction }[] = [];
  for (const { secret, file } of sops) {
    const ids = secret.fields.flatMap((f) => f.ids);
    const action = await sopsAction(secret.path, file, values, ids, request);
    if (action === "unchanged") outcome.files.push({ path: secret.path, action });
    else sopsWrites.push({ path: secret.path, text: sopsPlaintext(secret, values), action });
  }
  const tunnel = await tunnelTokenAction(request, keyFile, values);
  if (tunnel === "unchanged") outcome.files.push({ path: TOKEN_SECRET_FILE, action: tunnel });
  else if (tunnel) {
    sopsWrites.push({ path: TOKEN_SECRET_FILE, text: tokenSecretText(request.tunnelToken), action: tunnel });
  }

  // Stage: the password file first (the vault is encrypted with it), then the encrypted files.
  if (withVault) {
    let passwordFile = files.vaultPassword;
    if (!passwordExisted) {
      const password = `${generateSecret()}\n`;
      passwordFile = await staged.stage(files.vaultPassword, password, { private: true, noClobber: true });
      outcome.files.push({ path: files.vaultPassword, action: "written" });
    } else outcome.files.push({ path: files.vaultPassword, action: "reused" });
    if (vaultSame) outcome.files.push({ path: VAULT_PATH, action: "unchanged" });
    else {
      const kept = vault.state === "missing" ? {} : vault.userEntries;
      const encrypted = await vaultEncrypt(vaultPlaintext(values, kept), { ...run, passwordFile });
      await staged.stage(join(root, VAULT_PATH), encrypted);
      outcome.files.push({ path: VAULT_PATH, action: vault.state === "missing" ? "written" : "replaced" });
    }
  }
  for (const write of sopsWrites) {
    const filename = join(root, write.path);
    const encrypted = await sopsEncrypt(write.text, { ...run, config: request.sopsConfig, filename });
    await staged.stage(filename, encrypted);
    outcome.files.push({ path: write.path, action: write.action });
  }
  return outcome;
}

/**
 * cloudflared's token Secret (when the tree has cloudflared): the checked CLOUDFLARE_TUNNEL_TOKEN, or
 * else a placeholder for the new key that `infra up` refuses until `infra tunnel token` replaces it.
 * What the key already opens is kept unless a different token is given.
 */
async function tunnelTokenAction(
  request: SecretsRequest,
  keyFile: string | undefined,
  values: SecretValues,
): Promise<FileAction | undefined> {
  const { root, run } = request;
  if (!existsSync(dirname(join(root, TOKEN_SECRET_FILE)))) return undefined;
  const secret: SopsSecret = { path: TOKEN_SECRET_FILE, ...TOKEN_SECRET, fields: [] };
  const file = await readSopsSecret(
    root,
    secret,
    { keyFile, exampleRecipients: request.exampleRecipients },
    run,
  );
  const action = await sopsAction(TOKEN_SECRET_FILE, file, values, [], request);
  if (action !== "unchanged" || request.tunnelToken === undefined || !keyFile) return action;
  // Readable: a placeholder gives way to the token; a token is replaced only by another, after asking.
  const path = join(root, TOKEN_SECRET_FILE);
  if ((await readFile(path, "utf8")).split("\n").includes(PLACEHOLDER_MARKER)) return "replaced";
  const decrypted = await sopsDecrypt(path, { ...run, keyFile });
  const current = decrypted.ok ? (parse(decrypted.text) as { stringData?: Record<string, unknown> }) : {};
  if (current.stringData?.[TOKEN_SECRET.key] === request.tunnelToken) return "unchanged";
  await confirmReplace(TOKEN_SECRET_FILE, "holds another tunnel token", request.yes, request.io);
  return "replaced";
}

/** A password file init reuses must hold a password: ansible-vault refuses an empty one only after the questions. */
async function requirePassword(path: string): Promise<void> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => error);
  if (typeof text === "string" && text.trim() !== "") return;
  const what = typeof text === "string" ? "is empty" : `cannot be read (${text.code})`;
  throw new InfraError("VAULT_PASSWORD_MISSING", `the vault password file ${path} ${what}`, {
    kind: "preflight",
    location: { file: path },
    hint: "point ANSIBLE_VAULT_PASSWORD_FILE (or --vault-password-file) at a file holding the password, or unset it to have init create one; nothing was changed",
  });
}

async function sopsAction(
  path: string,
  file: SopsFile,
  values: SecretValues,
  ids: SecretId[],
  request: SecretsRequest,
): Promise<FileAction> {
  switch (file.state) {
    case "missing":
      return "written";
    case "example":
      return "replaced"; // encrypted for a key whose private half was discarded: nothing to keep
    case "readable":
      if (sameValues(file.values, values, ids)) return "unchanged";
      await confirmReplace(path, "holds other values", request.yes, request.io);
      return "replaced";
    case "unreadable":
      await confirmReplace(
        path,
        `is encrypted for ${file.recipients.join(", ") || "another key"}, which the age key ${request.files.ageKey} cannot open`,
        request.yes,
        request.io,
      );
      return "replaced";
  }
}

function sameValues(a: Partial<SecretValues>, b: SecretValues, ids: SecretId[]): boolean {
  return ids.every((id) => a[id] === b[id]);
}

async function resolveValues(
  request: SecretsRequest,
  current: Partial<SecretValues>,
): Promise<{ values: SecretValues; sources: SecretsOutcome["sources"] }> {
  const sources: SecretsOutcome["sources"] = [];
  const values: Partial<SecretValues> = {};
  const fromEnv = (input: SecretInput): string | undefined => {
    const raw = request.env[input.env];
    if (raw === undefined || raw.trim() === "") return undefined;
    const value = raw.trim();
    const problem = secretProblem(value);
    if (problem) {
      throw new InfraError("INIT_SECRET_INVALID", `${input.env} ${problem}; nothing was written`, {
        kind: "usage",
        hint: `set ${input.env} to the ${input.question.split(" (")[0]} itself`,
      });
    }
    return value;
  };
  const unanswered: SecretInput[] = [];
  for (const input of SECRET_INPUTS) {
    const given = fromEnv(input);
    if (given !== undefined) {
      values[input.id] = given;
      sources.push({ secret: input.id, from: `$${input.env}` });
    } else if (current[input.id]) {
      values[input.id] = current[input.id];
      sources.push({ secret: input.id, from: "kept" });
    } else unanswered.push(input);
  }
  if (unanswered.length > 0 && !request.io) {
    const names = unanswered.map((i) => i.env);
    throw new InfraError(
      "INIT_SECRET_MISSING",
      `not interactive, and ${names.join(", ")} ${names.length === 1 ? "is" : "are"} not set; nothing was written`,
      {
        kind: "usage",
        hint: `export ${names.join(" ")} (e.g. \`read -rs ${names[0]} && export ${names[0]}\`, which keeps it out of shell history), or run \`infra init\` in a terminal to be asked`,
      },
    );
  }
  for (const input of unanswered) {
    for (;;) {
      const answer = ((await request.io?.secret(input.question)) ?? "").trim();
      const problem = secretProblem(answer);
      if (!problem) {
        values[input.id] = answer;
        sources.push({ secret: input.id, from: "asked" });
        break;
      }
      await request.io?.tell(`the answer ${problem}`);
    }
  }
  for (const id of GENERATED) {
    const kept = current[id];
    values[id] = kept ?? generateSecret();
    sources.push({ secret: id, from: kept ? "kept" : "generated" });
  }
  return { values: values as SecretValues, sources };
}
