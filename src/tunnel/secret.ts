/**
 * The tunnel's token in Git: a SOPS-encrypted Secret that KSOPS decrypts for cloudflared
 * (kubernetes/infrastructure/cloudflared). Written from CLOUDFLARE_TUNNEL_TOKEN with the pinned sops
 * and the repository's .sops.yaml rules; the plaintext goes to sops on stdin and never to disk.
 */
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { exec, tail } from "../adapters/exec.js";
import { InfraError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { toolPath } from "../toolchain/paths.js";
import { loadVersions } from "../toolchain/versions.js";

export const TOKEN_SECRET_FILE = "kubernetes/infrastructure/cloudflared/tunnel-token.sops.yaml";
export const TOKEN_ENV = "CLOUDFLARE_TUNNEL_TOKEN";
export const TOKEN_SECRET = {
  namespace: "cloudflared",
  name: "cloudflared-tunnel-token",
  key: "token",
} as const;

/** The Secret before sops encrypts its stringData. */
export function tokenSecretPlaintext(token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: TOKEN_SECRET.name, namespace: TOKEN_SECRET.namespace },
    type: "Opaque",
    stringData: { [TOKEN_SECRET.key]: token },
  });
}

const HEADER = [
  "# yamllint disable rule:line-length",
  "# The Cloudflare Tunnel's token, written by `infra tunnel token` and encrypted with SOPS for the age",
  "# recipients in .sops.yaml. Replace it the same way (docs/runbooks/switch-to-tunnel.md).",
].join("\n");

/** The header line that marks init's placeholder (comments outside stringData stay plaintext in SOPS). */
export const PLACEHOLDER_MARKER = "# infra: placeholder, not a tunnel token";
const PLACEHOLDER_HEADER = [
  "# yamllint disable rule:line-length",
  PLACEHOLDER_MARKER,
  "# Written by `infra init`, encrypted with SOPS for the age recipients in .sops.yaml. cloudflared cannot",
  "# start with it: write the tunnel's token with `infra tunnel token` (docs/runbooks/switch-to-tunnel.md).",
].join("\n");
const PLACEHOLDER_TOKEN = "placeholder-run-infra-tunnel-token";

/**
 * The Secret as sops encrypts it: the tunnel's token, or (undefined) init's placeholder. The header
 * comments stay plaintext (the creation rule encrypts only stringData), so tokenSecretState reads them.
 */
export function tokenSecretText(token: string | undefined): string {
  return token === undefined
    ? `${PLACEHOLDER_HEADER}\n${tokenSecretPlaintext(PLACEHOLDER_TOKEN)}`
    : `${HEADER}\n${tokenSecretPlaintext(token)}`;
}

/** Encrypts the Secret for the repository's recipients and writes it atomically. */
export async function writeTokenSecret(root: string, token: string, env: NodeJS.ProcessEnv): Promise<void> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const target = join(root, TOKEN_SECRET_FILE);
  const result = await exec(
    "sops",
    // No file argument: `sops encrypt` reads stdin; the override picks the creation rule and format.
    ["encrypt", "--filename-override", TOKEN_SECRET_FILE, "--input-type", "yaml", "--output-type", "yaml"],
    {
      cwd: root,
      env: { ...env, PATH: toolPath(env, versions) },
      input: tokenSecretText(token),
      check: false,
    },
  ).catch((error: unknown) => {
    throw new InfraError("TOOL_NOT_FOUND", "sops is not installed", {
      kind: "preflight",
      hint: "run `./infra tools install sops age`",
      cause: error,
    });
  });
  if (result.exitCode !== 0) {
    throw new InfraError(
      "SOPS_FAILED",
      `sops could not encrypt the tunnel token: ${tail(result.stderr, 3)}`,
      {
        location: { file: ".sops.yaml" },
        hint: "check that .sops.yaml has a creation rule for kubernetes/**/*.sops.yaml with your age recipient (`infra init` writes it)",
      },
    );
  }
  const temporary = `${target}.tmp-${process.pid}`;
  await writeFile(temporary, result.stdout);
  await rename(temporary, target);
}

/** The age recipients a SOPS file is encrypted for (its own metadata; no key needed). */
export function sopsRecipients(text: string): string[] {
  try {
    const document = parse(text) as { sops?: { age?: { recipient?: unknown }[] } } | null;
    return (document?.sops?.age ?? []).map((a) => String(a.recipient ?? "")).filter(Boolean);
  } catch {
    return [];
  }
}

/** The age recipients of .sops.yaml's creation rules. */
export async function repositoryRecipients(root: string): Promise<string[]> {
  const text = await readFile(join(root, ".sops.yaml"), "utf8").catch(() => "");
  return [...text.matchAll(/age1[0-9a-z]{58}/g)].map((m) => m[0]);
}

export type TokenSecretState = "missing" | "foreign" | "placeholder" | "written";

/**
 * Whether the token Secret in the tree is this cluster's: missing, encrypted for none of .sops.yaml's
 * recipients (the shipped example, or another cluster's), `infra init`'s placeholder (encrypted for
 * them, but no token yet), or the token written for them.
 */
export async function tokenSecretState(root: string): Promise<TokenSecretState> {
  const file = join(root, TOKEN_SECRET_FILE);
  if (!existsSync(file)) return "missing";
  const ours = new Set(await repositoryRecipients(root));
  const text = await readFile(file, "utf8");
  if (!sopsRecipients(text).some((r) => ours.has(r))) return "foreign";
  return text.split("\n").includes(PLACEHOLDER_MARKER) ? "placeholder" : "written";
}
