/**
 * The age identity KSOPS decrypts with. It never comes from Git: `infra up` reads it from
 * $SOPS_AGE_KEY_FILE and creates the argocd/sops-age Secret out of band. Before it does, it checks
 * that the identity really is a recipient in .sops.yaml — otherwise every KSOPS generator fails
 * in the repo-server with "0 successful groups required, got 0" (viaduct-ai/kustomize-sops#218).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InfraError } from "../errors.js";

export interface AgeKey {
  file: string;
  /** The whole key file, as KSOPS expects it in the Secret's `keys.txt`. */
  contents: string;
  recipients: string[];
}

export async function readAgeKey(env: NodeJS.ProcessEnv, cwd: string): Promise<AgeKey> {
  const file = env.SOPS_AGE_KEY_FILE;
  if (!file) {
    throw new InfraError("AGE_KEY_MISSING", "SOPS_AGE_KEY_FILE is not set", {
      kind: "preflight",
      hint: "set it to the age key `infra init` generated (see .envrc.example); KSOPS needs it to decrypt secrets",
    });
  }
  const contents = await readFile(file, "utf8").catch((error: unknown) => {
    throw new InfraError("AGE_KEY_MISSING", `cannot read the age key file ${file}`, {
      kind: "preflight",
      location: { file },
      hint: "point SOPS_AGE_KEY_FILE at the key `infra init` generated",
      cause: error,
    });
  });
  const identities = contents.split("\n").filter((line) => line.startsWith("AGE-SECRET-KEY-"));
  if (identities.length === 0) {
    throw new InfraError(
      "AGE_KEY_INVALID",
      `${file} holds no age identity (a line starting AGE-SECRET-KEY-)`,
      {
        kind: "preflight",
        location: { file },
        hint: "generate one with `infra init` or `age-keygen`, and re-encrypt the secrets for it",
      },
    );
  }
  const { identityToRecipient } = await import("age-encryption");
  const recipients = await Promise.all(identities.map((identity) => identityToRecipient(identity.trim())));
  await assertRecipientOf(recipients, join(cwd, ".sops.yaml"));
  return { file, contents, recipients };
}

async function assertRecipientOf(recipients: string[], sopsFile: string): Promise<void> {
  const text = await readFile(sopsFile, "utf8").catch(() => undefined);
  if (text === undefined) {
    throw new InfraError("SOPS_CONFIG_MISSING", `${sopsFile} does not exist`, {
      kind: "preflight",
      location: { file: sopsFile },
      hint: "run `infra init` to write it with your age key's public recipient",
    });
  }
  const declared = [...text.matchAll(/age1[0-9a-z]{58}/g)].map((m) => m[0]);
  if (!recipients.some((r) => declared.includes(r))) {
    throw new InfraError(
      "AGE_KEY_NOT_RECIPIENT",
      `the age key's recipient ${recipients[0]} is not in .sops.yaml, so KSOPS could not decrypt anything`,
      {
        kind: "preflight",
        location: { file: sopsFile },
        hint: "use the key the secrets were encrypted for, or add this recipient to .sops.yaml and run `sops updatekeys` on every *.sops.yaml",
      },
    );
  }
}

/** The Secret the repo-server mounts at ~/.config/sops/age (see kubernetes/bootstrap/argocd.yaml). */
export function ageKeySecret(key: AgeKey) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "sops-age",
      namespace: "argocd",
      labels: { "app.kubernetes.io/managed-by": "infra-k3s" },
    },
    type: "Opaque",
    stringData: { "keys.txt": key.contents },
  };
}
