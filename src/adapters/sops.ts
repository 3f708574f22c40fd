/**
 * sops, run as the pinned binary. Plaintext goes in on stdin and comes out on stdout, so it is
 * never written to a file; which age key decrypts is always named explicitly.
 */
import { type ExecResult, exec, tail } from "./exec.js";

export interface SopsRun {
  /** Environment with the pinned tools on PATH. */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Identity sources sops would otherwise pick up besides the key file we name. */
const OTHER_IDENTITIES = ["SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"];

/**
 * Encrypts a YAML document as if it were `filename` (whose path picks the creation rule of
 * `config`: recipients and `encrypted_regex`). Returns the encrypted document.
 */
export async function sopsEncrypt(
  plaintext: string,
  options: SopsRun & { config: string; filename: string },
): Promise<string> {
  // `encrypt` without a file reads stdin (a pipe from spawn is a socket, which /dev/stdin cannot open).
  const args = ["--config", options.config, "encrypt", "--filename-override", options.filename, ...YAML];
  const result = await exec("sops", args, {
    env: options.env,
    input: plaintext,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return result.stdout;
}

export type SopsDecrypt =
  | { ok: true; text: string }
  /** `no-key`: encrypted for recipients the key is not one of; `invalid`: not a sops file or damaged. */
  | { ok: false; reason: "no-key" | "invalid"; message: string };

/** Decrypts `file` with the identities in `keyFile` and nothing else. */
export async function sopsDecrypt(
  file: string,
  options: SopsRun & { keyFile: string },
): Promise<SopsDecrypt> {
  const env: NodeJS.ProcessEnv = { ...options.env, SOPS_AGE_KEY_FILE: options.keyFile };
  for (const name of OTHER_IDENTITIES) delete env[name];
  const result: ExecResult = await exec(
    "sops",
    ["--decrypt", "--input-type", "yaml", "--output-type", "yaml", file],
    {
      env,
      check: false,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  if (result.exitCode === 0) return { ok: true, text: result.stdout };
  const message = tail(result.stderr, 4).trim() || `sops exited with ${result.exitCode}`;
  // 128: sops' "could not get the data key" (no identity matched any recipient).
  const noKey = result.exitCode === 128 || /Failed to get the data key/i.test(result.stderr);
  return { ok: false, reason: noKey ? "no-key" : "invalid", message };
}

const YAML = ["--input-type", "yaml", "--output-type", "yaml"];
