/**
 * `infra secrets env`: `export` lines for the credentials OpenTofu reads from the environment —
 * the Cloudflare API token and the R2 keys (as AWS_* for the S3 backend) — decrypted from the
 * SOPS files `infra init` wrote. `.envrc` evaluates it, so no credential sits on disk in plain text.
 */
import { join } from "node:path";
import { parse } from "yaml";
import { sopsDecrypt } from "../adapters/sops.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { readAgeKeyFile } from "./age-key.js";
import { type SecretId, type SecretValues, sopsSecretHolding, sopsValues } from "./catalog.js";
import { clusterPrivateFiles, type PrivateFileFlags } from "./cluster-files.js";
import { toolRun } from "./state.js";

/** Each exported variable and the value it carries. */
export const EXPORTS: readonly { name: string; id: SecretId }[] = [
  { name: "CLOUDFLARE_API_TOKEN", id: "cloudflareApiToken" },
  { name: "AWS_ACCESS_KEY_ID", id: "r2AccessKeyId" },
  { name: "AWS_SECRET_ACCESS_KEY", id: "r2SecretAccessKey" },
];

export async function secretsEnvCommand(
  ctx: CommandContext,
  flags: PrivateFileFlags,
): Promise<Outcome<Record<string, string>>> {
  const run = await toolRun(ctx, "secrets env", ["sops"]);
  const { ageKey } = await clusterPrivateFiles(ctx, flags, { vaultPassword: false });
  await readAgeKeyFile(ageKey); // a missing or broken key says so, not "does not decrypt"
  const values: Partial<SecretValues> = {};
  for (const secret of new Set(EXPORTS.map((e) => sopsSecretHolding(e.id)))) {
    const decrypted = await sopsDecrypt(join(ctx.cwd, secret.path), { ...run, keyFile: ageKey });
    if (!decrypted.ok) {
      throw new InfraError(
        "SOPS_DECRYPT_FAILED",
        `${secret.path} does not decrypt with the age key ${ageKey}`,
        {
          kind: "preflight",
          location: { file: secret.path },
          hint:
            decrypted.reason === "no-key"
              ? "point SOPS_AGE_KEY_FILE at the key `infra init` wrote for this cluster (or run `infra init` to create the secrets)"
              : decrypted.message,
        },
      );
    }
    Object.assign(values, sopsValues(secret, parse(decrypted.text)));
  }
  const data: Record<string, string> = {};
  for (const { name, id } of EXPORTS) {
    const value = values[id];
    if (!value) {
      throw new InfraError("SECRET_MISSING", `${sopsSecretHolding(id).path} holds no value for ${name}`, {
        kind: "preflight",
        location: { file: sopsSecretHolding(id).path },
        hint: "run `infra init` to fill it in",
      });
    }
    data[name] = value;
  }
  return outcome(data, (d) =>
    Object.entries(d)
      .map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'`)
      .join("\n"),
  );
}
