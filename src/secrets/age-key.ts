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

/** The recipients of the identities in an existing key file. */
export async function readAgeKeyFile(path: string): Promise<{ recipients: string[] }> {
  const text = await readFile(path, "utf8");
  const identities = text.split("\n").filter((line) => line.startsWith("AGE-SECRET-KEY-"));
  if (identities.length === 0) {
    throw new InfraError("AGE_KEY_INVALID", `${path} exists but holds no age secret key`, {
      kind: "usage",
      location: { file: path },
      hint: "point --age-key-file (or SOPS_AGE_KEY_FILE) at the right key; infra never overwrites a key file it cannot read",
    });
  }
  const age = await import("age-encryption");
  return { recipients: await Promise.all(identities.map((i) => age.identityToRecipient(i.trim()))) };
}
