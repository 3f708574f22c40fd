/** The age key files `infra init` and `infra secrets rotate` write, and reading one back. */
import { readFile } from "node:fs/promises";
import { InfraError } from "../errors.js";

export interface NewAgeKey {
  recipient: string;
  /** The whole key file: when, the public key, the identity. */
  text: string;
}

export async function newAgeKey(now = new Date()): Promise<NewAgeKey> {
  const age = await import("age-encryption");
  const secret = await age.generateIdentity();
  const recipient = await age.identityToRecipient(secret);
  const created = now.toISOString().replace(/\.\d+Z$/, "Z");
  return { recipient, text: `# created: ${created}\n# public key: ${recipient}\n${secret}\n` };
}

/**
 * The recipients of the identities in a key file. A missing file is AGE_KEY_MISSING (exit 3: the
 * secrets are encrypted for a key that is not here); one that is not a key is AGE_KEY_INVALID.
 */
export async function readAgeKeyFile(path: string): Promise<{ recipients: string[] }> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") return error;
    throw new InfraError("AGE_KEY_MISSING", `the age key ${path} does not exist`, {
      kind: "preflight",
      location: { file: path },
      hint: "point SOPS_AGE_KEY_FILE (or --age-key-file) at the key the secrets are encrypted for; nothing was changed",
    });
  });
  const identities =
    typeof text === "string" ? text.split("\n").filter((line) => line.startsWith("AGE-SECRET-KEY-")) : [];
  if (identities.length === 0) {
    const what = typeof text === "string" ? "holds no age secret key" : `cannot be read (${text.code})`;
    throw new InfraError("AGE_KEY_INVALID", `${path} exists but ${what}`, {
      kind: "usage",
      location: { file: path },
      hint: "point --age-key-file (or SOPS_AGE_KEY_FILE) at the right key; infra never overwrites a key file it cannot read",
    });
  }
  const age = await import("age-encryption");
  return { recipients: await Promise.all(identities.map((i) => age.identityToRecipient(i.trim()))) };
}
