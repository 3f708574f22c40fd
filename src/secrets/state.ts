/**
 * What the repository's secret files hold now: the vault and each SOPS Secret of the catalog,
 * opened with the user's password file and age key. `init` keeps what is there (a K3s token or
 * a Kopia password is never regenerated) and `rotate` re-encrypts it.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { parse } from "yaml";
import { pinnedPath } from "../adapters/ansible.js";
import { vaultDecrypt } from "../adapters/ansible-vault.js";
import { sopsDecrypt } from "../adapters/sops.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import {
  type SecretValues,
  type SopsSecret,
  sopsValues,
  VAULT_PATH,
  vaultUserEntries,
  vaultValues,
} from "./catalog.js";

/** The environment the pinned tools run in, and the signal that stops them. */
export interface ToolRun {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** The pinned tools first on PATH; fails before anything is asked or written when one is missing. */
export async function toolRun(
  ctx: Pick<CommandContext, "env" | "signal">,
  command: string,
  bins: string[],
): Promise<ToolRun> {
  const env = { ...ctx.env, PATH: await pinnedPath(ctx.env) };
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  const missing = bins.filter((bin) => !dirs.some((dir) => existsSync(join(dir, bin))));
  if (missing.length > 0) {
    throw new InfraError(
      "TOOLS_MISSING",
      `infra ${command} needs ${missing.join(" and ")}, which ${missing.length === 1 ? "is" : "are"} not installed`,
      {
        kind: "preflight",
        hint: "run `./infra tools install` (the user tools: Ansible, sops, age, ...); `./infra doctor` shows what is there",
      },
    );
  }
  return { env, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

export type VaultFile =
  | { state: "missing" }
  /** A vault.yml someone wrote without encrypting it. */
  | { state: "plaintext"; values: Partial<SecretValues>; userEntries: Record<string, unknown> }
  | {
      state: "encrypted";
      values: Partial<SecretValues>;
      /** The keys the user added (vaultUserEntries), kept when init rewrites the vault. */
      userEntries: Record<string, unknown>;
      plaintext: string;
    };

export async function readVault(root: string, passwordFile: string, run: ToolRun): Promise<VaultFile> {
  const file = join(root, VAULT_PATH);
  if (!existsSync(file)) return { state: "missing" };
  const text = await readFile(file, "utf8");
  if (!text.startsWith("$ANSIBLE_VAULT;")) {
    const document = safeParse(text);
    return { state: "plaintext", values: vaultValues(document), userEntries: vaultUserEntries(document) };
  }
  if (!existsSync(passwordFile)) {
    throw new InfraError(
      "VAULT_PASSWORD_MISSING",
      `${VAULT_PATH} is encrypted, but the password file ${passwordFile} does not exist`,
      {
        kind: "preflight",
        location: { file: VAULT_PATH },
        hint: "point ANSIBLE_VAULT_PASSWORD_FILE (or --vault-password-file) at this vault's password file; nothing was changed",
      },
    );
  }
  const plaintext = await vaultDecrypt(file, VAULT_PATH, { ...run, passwordFile });
  const document = safeParse(plaintext);
  return {
    state: "encrypted",
    values: vaultValues(document),
    userEntries: vaultUserEntries(document),
    plaintext,
  };
}

export type SopsFile =
  | { state: "missing" }
  /** Encrypted for the example recipient of the committed .sops.yaml (its private half was discarded). */
  | { state: "example" }
  | { state: "readable"; values: Partial<SecretValues> }
  /** Encrypted for recipients the age key is not one of. */
  | { state: "unreadable"; recipients: string[] };

export async function readSopsSecret(
  root: string,
  secret: SopsSecret,
  options: { keyFile: string | undefined; exampleRecipients: string[] },
  run: ToolRun,
): Promise<SopsFile> {
  const file = join(root, secret.path);
  if (!existsSync(file)) return { state: "missing" };
  const recipients = sopsRecipients(await readFile(file, "utf8"));
  if (options.keyFile) {
    const decrypted = await sopsDecrypt(file, { ...run, keyFile: options.keyFile });
    if (decrypted.ok) return { state: "readable", values: sopsValues(secret, safeParse(decrypted.text)) };
    if (decrypted.reason === "invalid") {
      throw new InfraError("SOPS_FILE_INVALID", `sops cannot read ${secret.path}: ${decrypted.message}`, {
        kind: "preflight",
        location: { file: secret.path },
        hint: "restore it from Git (git checkout -- <file>) or move it aside; nothing was changed",
      });
    }
  }
  if (recipients.length > 0 && recipients.every((r) => options.exampleRecipients.includes(r)))
    return { state: "example" };
  return { state: "unreadable", recipients };
}

/** The age recipients a SOPS file is encrypted for (its `sops` metadata is plaintext). */
export function sopsRecipients(text: string): string[] {
  const document = safeParse(text) as { sops?: { age?: { recipient?: unknown }[] } } | undefined;
  return (document?.sops?.age ?? [])
    .map((a) => a.recipient)
    .filter((r): r is string => typeof r === "string");
}

/** Age recipients (public keys) named in a text, e.g. .sops.yaml. */
export function ageRecipientsIn(text: string): string[] {
  return [...text.matchAll(/age1[02-9ac-hj-np-z]{58}/g)].map((m) => m[0]);
}

function safeParse(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}
