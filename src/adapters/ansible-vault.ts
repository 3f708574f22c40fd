/**
 * ansible-vault, run as the pinned binary. Plaintext goes in on stdin and comes out on stdout
 * (`--output -`), so it never touches a file; the password always comes from a named file.
 */
import { InfraError } from "../errors.js";
import { exec } from "./exec.js";

export interface VaultRun {
  /** Environment with the pinned tools on PATH. */
  env: NodeJS.ProcessEnv;
  passwordFile: string;
  signal?: AbortSignal;
}

/**
 * The environment for one ansible-vault run: only the password file we pass counts (a default
 * from ANSIBLE_VAULT_PASSWORD_FILE would be tried too and could mask a wrong one), and Python's
 * deprecation warnings stay out of the messages.
 */
function vaultEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { ...env, PYTHONWARNINGS: "ignore", ANSIBLE_NOCOLOR: "1" };
  delete clean.ANSIBLE_VAULT_PASSWORD_FILE;
  delete clean.ANSIBLE_VAULT_IDENTITY_LIST;
  return clean;
}

export async function vaultEncrypt(plaintext: string, run: VaultRun): Promise<string> {
  const result = await exec(
    "ansible-vault",
    ["encrypt", "--vault-password-file", run.passwordFile, "--output", "-", "-"],
    { env: vaultEnv(run.env), input: plaintext, ...(run.signal ? { signal: run.signal } : {}) },
  );
  return result.stdout;
}

/**
 * The plaintext of an encrypted vault file. A password that does not open it is VAULT_PASSWORD_WRONG
 * (exit 3): nothing has been changed, and the fix is the right password file.
 */
export async function vaultDecrypt(file: string, shownAs: string, run: VaultRun): Promise<string> {
  const result = await exec(
    "ansible-vault",
    ["decrypt", "--vault-password-file", run.passwordFile, "--output", "-", file],
    { env: vaultEnv(run.env), check: false, ...(run.signal ? { signal: run.signal } : {}) },
  );
  if (result.exitCode === 0) return result.stdout;
  const text = `${result.stderr}\n${result.stdout}`;
  if (/Decryption failed|Invalid vault password/i.test(text)) {
    throw new InfraError(
      "VAULT_PASSWORD_WRONG",
      `the vault password in ${run.passwordFile} does not open ${shownAs}`,
      {
        kind: "preflight",
        location: { file: shownAs },
        hint: "point ANSIBLE_VAULT_PASSWORD_FILE (or --vault-password-file) at the file holding this vault's password; nothing was changed",
      },
    );
  }
  const line = text.split("\n").find((l) => /ERROR/.test(l)) ?? text.trim().split("\n")[0] ?? "";
  throw new InfraError("VAULT_UNREADABLE", `ansible-vault could not read ${shownAs}: ${line.trim()}`, {
    kind: "preflight",
    location: { file: shownAs },
    hint: "check the file with `ansible-vault view`; nothing was changed",
  });
}
