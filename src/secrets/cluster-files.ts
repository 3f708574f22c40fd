/**
 * The private files of the cluster a command acts on, for the commands that come after `init`:
 * their default paths need the cluster's name, read from cluster.yaml only when the environment
 * (or a flag) does not already name both files.
 */
import { loadClusterConfig } from "../config/load.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type PrivateFiles, privateFiles } from "./paths.js";

export interface PrivateFileFlags {
  config?: string | undefined;
  ageKeyFile?: string | undefined;
  vaultPasswordFile?: string | undefined;
}

export async function clusterPrivateFiles(
  ctx: CommandContext,
  flags: PrivateFileFlags,
  need: { vaultPassword: boolean },
): Promise<PrivateFiles> {
  const named =
    (flags.ageKeyFile || ctx.env.SOPS_AGE_KEY_FILE) &&
    (!need.vaultPassword || flags.vaultPasswordFile || ctx.env.ANSIBLE_VAULT_PASSWORD_FILE);
  if (named) return privateFiles(ctx, "", flags);
  const { config, source } = await loadClusterConfig(ctx, flags.config, { reportWarnings: false });
  if (source.origin === "example") {
    throw new InfraError(
      "CLUSTER_NOT_INITIALISED",
      "no cluster.yaml here, so no cluster's secrets to act on",
      {
        kind: "usage",
        hint: "run `infra init` first (or set SOPS_AGE_KEY_FILE and ANSIBLE_VAULT_PASSWORD_FILE, e.g. from .envrc)",
      },
    );
  }
  return privateFiles(ctx, config.name, flags);
}

/** The flags from the parsed options (cli.ts). */
export function privateFileFlags(o: Record<string, unknown>): PrivateFileFlags {
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    config: str(o.config),
    ageKeyFile: str(o.ageKeyFile),
    vaultPasswordFile: str(o.vaultPasswordFile),
  };
}
