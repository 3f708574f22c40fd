/**
 * `.envrc`, which `infra init` writes from the committed `.envrc.example`: the same file with this
 * cluster's two private paths in its `export SOPS_AGE_KEY_FILE=` and `export ANSIBLE_VAULT_PASSWORD_FILE=`
 * lines (the example shows the defaults, with `<cluster>` for the cluster's name).
 */
import type { PrivateFiles } from "./paths.js";

export const ENVRC = ".envrc";
export const ENVRC_EXAMPLE = ".envrc.example";

export function envrcText(template: string, files: PrivateFiles, env: NodeJS.ProcessEnv): string {
  const line = (name: string, path: string) => `export ${name}=${shellPath(env, path)}`;
  return template
    .replace(/^export SOPS_AGE_KEY_FILE=.*$/m, line("SOPS_AGE_KEY_FILE", files.ageKey))
    .replace(
      /^export ANSIBLE_VAULT_PASSWORD_FILE=.*$/m,
      line("ANSIBLE_VAULT_PASSWORD_FILE", files.vaultPassword),
    );
}

/** A path as a shell word: `"$HOME/…"` under the home directory, single-quoted when it needs it. */
function shellPath(env: NodeJS.ProcessEnv, path: string): string {
  const home = env.HOME;
  const safe = /^[A-Za-z0-9._/+@:-]+$/;
  if (home && path.startsWith(`${home}/`) && safe.test(path.slice(home.length + 1))) {
    return `"$HOME/${path.slice(home.length + 1)}"`;
  }
  return safe.test(path) ? `"${path}"` : `'${path.replaceAll("'", `'\\''`)}'`;
}
