/**
 * Where the two private files live — the age key and the vault password file — for `infra init`,
 * `infra secrets rotate` and `infra secrets env` alike: the flag, else the variable every other
 * tool reads (SOPS_AGE_KEY_FILE, ANSIBLE_VAULT_PASSWORD_FILE), else a per-cluster default under
 * ~/.config, outside the repository.
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { exec } from "../adapters/exec.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";

export interface PrivateFiles {
  ageKey: string;
  vaultPassword: string;
}

export function privateFiles(
  ctx: Pick<CommandContext, "cwd" | "env" | "workdir">,
  cluster: string,
  flags: { ageKeyFile?: string | undefined; vaultPasswordFile?: string | undefined } = {},
): PrivateFiles {
  const config = ctx.env.XDG_CONFIG_HOME || join(ctx.env.HOME ?? "~", ".config");
  // A path the user gives is relative to where they started infra, as --config is (root.ts).
  const startedIn = ctx.workdir ?? ctx.cwd;
  const pick = (flag: string | undefined, variable: string | undefined, fallback: string) => {
    const given = flag || variable;
    return given ? resolve(startedIn, expandHome(ctx.env, given)) : fallback;
  };
  return {
    ageKey: pick(flags.ageKeyFile, ctx.env.SOPS_AGE_KEY_FILE, join(config, "sops", "age", `${cluster}.txt`)),
    vaultPassword: pick(
      flags.vaultPasswordFile,
      ctx.env.ANSIBLE_VAULT_PASSWORD_FILE,
      join(config, "infra-k3s", `${cluster}.vault-pass`),
    ),
  };
}

function expandHome(env: NodeJS.ProcessEnv, path: string): string {
  return path === "~" || path.startsWith("~/") ? join(env.HOME ?? "~", path.slice(1)) : path;
}

/** `~/…` for a path under $HOME, for messages and the lines of .envrc. */
export function displayHome(env: NodeJS.ProcessEnv, path: string): string {
  const home = env.HOME;
  return home && path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
}

/** A private file inside the repository must be git-ignored: it is never committed. */
export async function refuseTracked(
  cwd: string,
  path: string,
  what: "age key" | "vault password file",
): Promise<void> {
  const rel = relative(cwd, path);
  if (rel.startsWith("..") || isAbsolute(rel)) return;
  const result = await exec("git", ["check-ignore", "-q", "--", rel], { cwd, check: false }).catch(
    () => undefined,
  );
  // 0: ignored; 1: not ignored; 128: not a Git repository (nothing to commit it to).
  if (result && result.exitCode === 1) {
    const age = what === "age key";
    throw new InfraError(
      age ? "AGE_KEY_NOT_IGNORED" : "VAULT_PASSWORD_NOT_IGNORED",
      `the ${what} path ${rel} is inside the repository and not git-ignored`,
      {
        kind: "usage",
        location: { file: rel },
        hint: age
          ? "leave --age-key-file and SOPS_AGE_KEY_FILE out (the key then goes to ~/.config/sops/age/), or use a path .gitignore covers (e.g. *.agekey)"
          : "leave --vault-password-file and ANSIBLE_VAULT_PASSWORD_FILE out (the file then goes to ~/.config/infra-k3s/), or use a path .gitignore covers (e.g. *.vault_pass)",
      },
    );
  }
}
