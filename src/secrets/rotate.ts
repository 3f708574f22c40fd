/**
 * `infra secrets rotate`: a new age key and a new vault password, as docs/runbooks/rotate-secrets.md
 * describes. Every `kubernetes/**\/*.sops.yaml` is decrypted with the current key and encrypted
 * anew (new data key) for the new recipient, `.sops.yaml` names the new recipient instead of the
 * old, and the vault is re-encrypted with the new password. Everything is read and checked first:
 * a file the current key cannot open, or a wrong vault password, stops the command before any
 * change. The replaced key and password file are kept beside the new ones for the rollback.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { vaultEncrypt } from "../adapters/ansible-vault.js";
import { sopsDecrypt, sopsEncrypt } from "../adapters/sops.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { confirmAction } from "../ui/confirm.js";
import { newAgeKey, readAgeKeyFile } from "./age-key.js";
import { generateSecret, VAULT_PATH } from "./catalog.js";
import { clusterPrivateFiles, type PrivateFileFlags, privateFileFlags } from "./cluster-files.js";
import { displayHome } from "./paths.js";
import { StagedFiles } from "./staged.js";
import { readVault, toolRun } from "./state.js";

export interface RotateOptions extends PrivateFileFlags {
  dryRun: boolean;
  yes: boolean;
}

/** Typed options from the parsed flags (cli.ts). */
export function rotateOptions(o: Record<string, unknown>): RotateOptions {
  return { ...privateFileFlags(o), dryRun: o.dryRun === true, yes: o.yes === true };
}

export interface RotateResult {
  dryRun: boolean;
  files: { path: string; action: "re-encrypted" | "replaced" | "kept as" }[];
  ageKeyFile: string;
  ageRecipient: string;
  vaultPasswordFile: string;
  next: string[];
}

const SOPS_CONFIG = ".sops.yaml";

export async function secretsRotateCommand(
  ctx: CommandContext,
  options: RotateOptions,
): Promise<Outcome<RotateResult>> {
  const run = await toolRun(ctx, "secrets rotate", ["sops", "ansible-vault"]);
  const files = await clusterPrivateFiles(ctx, options, { vaultPassword: true });
  const root = ctx.cwd;

  // Read and check everything with the current key and password before changing anything.
  const old = await readAgeKeyFile(files.ageKey);
  const sopsConfigPath = join(root, SOPS_CONFIG);
  const sopsConfig = await readFile(sopsConfigPath, "utf8").catch(() => undefined);
  if (sopsConfig === undefined || !old.recipients.some((r) => sopsConfig.includes(r))) {
    throw new InfraError(
      "SOPS_CONFIG_MISMATCH",
      sopsConfig === undefined
        ? `${SOPS_CONFIG} does not exist`
        : `${SOPS_CONFIG} does not name the age key's recipient ${old.recipients[0]}`,
      {
        kind: "preflight",
        location: { file: SOPS_CONFIG },
        hint: "run `infra init` first, or point SOPS_AGE_KEY_FILE at this repository's key; nothing was changed",
      },
    );
  }
  const vault = await readVault(root, files.vaultPassword, run);
  if (vault.state !== "encrypted") {
    throw new InfraError(
      vault.state === "missing" ? "VAULT_MISSING" : "VAULT_NOT_ENCRYPTED",
      `${VAULT_PATH} ${vault.state === "missing" ? "does not exist" : "is not encrypted"}`,
      {
        kind: "preflight",
        location: { file: VAULT_PATH },
        hint: "run `infra init` to create it; nothing was changed",
      },
    );
  }
  const secrets: { path: string; text: string }[] = [];
  for (const path of await sopsFiles(root)) {
    const decrypted = await sopsDecrypt(join(root, path), { ...run, keyFile: files.ageKey });
    if (!decrypted.ok) {
      throw new InfraError(
        "SOPS_DECRYPT_FAILED",
        `${path} does not decrypt with the age key ${files.ageKey}`,
        {
          kind: "preflight",
          location: { file: path },
          hint:
            decrypted.reason === "no-key"
              ? "re-create it for this key first (`infra init`, or sops), or remove it; nothing was changed"
              : `${decrypted.message}; nothing was changed`,
        },
      );
    }
    secrets.push({ path, text: decrypted.text });
  }

  const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
  const kept = (path: string) => `${path}.replaced-${stamp}`;
  const result: RotateResult = {
    dryRun: options.dryRun,
    files: [
      { path: files.ageKey, action: "replaced" },
      { path: kept(files.ageKey), action: "kept as" },
      { path: files.vaultPassword, action: "replaced" },
      { path: kept(files.vaultPassword), action: "kept as" },
      { path: SOPS_CONFIG, action: "replaced" },
      { path: VAULT_PATH, action: "re-encrypted" },
      ...secrets.map((s) => ({ path: s.path, action: "re-encrypted" as const })),
    ],
    ageKeyFile: files.ageKey,
    ageRecipient: "",
    vaultPasswordFile: files.vaultPassword,
    next: [],
  };
  if (options.dryRun) return outcome(result, renderRotate);
  await confirmAction(
    ctx,
    `Replace the age key and the vault password, and re-encrypt ${secrets.length} SOPS files and the vault?`,
    options.yes,
  );

  const key = await newAgeKey();
  const staged = new StagedFiles(ctx.workdir ?? ctx.cwd);
  try {
    await staged.stage(files.ageKey, key.text, { private: true, keepOldAs: kept(files.ageKey) });
    const passwordFile = await staged.stage(files.vaultPassword, `${generateSecret()}\n`, {
      private: true,
      keepOldAs: kept(files.vaultPassword),
    });
    let config = sopsConfig;
    for (const recipient of old.recipients) config = config.replaceAll(recipient, key.recipient);
    const configFile = await staged.stage(sopsConfigPath, config);
    await staged.stage(join(root, VAULT_PATH), await vaultEncrypt(vault.plaintext, { ...run, passwordFile }));
    for (const secret of secrets) {
      const filename = join(root, secret.path);
      await staged.stage(filename, await sopsEncrypt(secret.text, { ...run, config: configFile, filename }));
    }
    await staged.commit();
  } finally {
    await staged.discard();
  }
  result.ageRecipient = key.recipient;
  const shownKey = displayHome(ctx.env, files.ageKey);
  result.next = [
    `give the cluster the new key before pushing (Argo CD cannot decrypt the new files with the old one): kubectl -n argocd create secret generic sops-age --from-file=keys.txt=${shownKey} --dry-run=client -o yaml | kubectl apply -f - && kubectl -n argocd rollout restart deployment argo-cd-repo-server`,
    "infra check   # every secret decrypts with the new key",
    "git commit -am 'secrets: rotate the age key and the vault password' && git push",
    `back up ${shownKey} and ${displayHome(ctx.env, files.vaultPassword)}; delete the *.replaced-${stamp} files once Argo CD shows every application Synced and Healthy`,
  ];
  return outcome(result, renderRotate);
}

/** Every SOPS file of the GitOps tree, relative to the root, sorted. */
async function sopsFiles(root: string): Promise<string[]> {
  const dir = join(root, "kubernetes");
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true });
  return entries
    .filter((entry) => /\.sops\.ya?ml$/.test(entry))
    .map((entry) => relative(root, join(dir, entry)))
    .sort();
}

function renderRotate(result: RotateResult): string {
  const verb = (action: RotateResult["files"][number]["action"]) =>
    result.dryRun ? `would be ${action === "kept as" ? "kept as" : action}` : action;
  const lines = result.files.map(
    (f) => `${result.dryRun ? "~" : "✓"} ${verb(f.action).padEnd(22)} ${f.path}`,
  );
  if (result.dryRun) lines.push("", "dry run: nothing was changed");
  else {
    lines.push("", `new age public key: ${result.ageRecipient}`, "", "next:");
    for (const step of result.next) lines.push(`  ${step}`);
  }
  return lines.join("\n");
}
