/**
 * What `infra dns plan|apply` checks before tofu runs: the rendered variables exist and name a
 * real account, and the API token is in the environment. Each failure says what to do.
 */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { InfraError } from "../errors.js";

/** The variables `infra configure` renders (CONTRACT 3). */
export const TOFU_DIR = "tofu";
export const RENDERED_VARS = join(TOFU_DIR, "cluster.auto.tfvars.json");

/** The account id of cluster.example.yaml: a placeholder, never a real account. */
export const EXAMPLE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef";

export interface DnsVars {
  cluster_name: string;
  cloudflare_account_id: string;
  zone_name: string;
  dns_records: { name: string; type: string; content: string; proxied: boolean; ttl: number }[];
  r2_bucket: { name: string; location: string | null; storage_class: string; jurisdiction: string };
  /** The Cloudflare Tunnel (ingress.mode tunnel or both), null in public mode. */
  tunnel?: { name: string; hostnames: string[] } | null;
}

export interface DnsPreflight {
  tofuDir: string;
  varsFile: string;
  vars: DnsVars;
}

export async function dnsPreflight(cwd: string, env: NodeJS.ProcessEnv): Promise<DnsPreflight> {
  const varsFile = join(cwd, RENDERED_VARS);
  const shown = relative(cwd, varsFile);
  const text = await readFile(varsFile, "utf8").catch(() => undefined);
  if (text === undefined) {
    throw new InfraError("TOFU_VARS_MISSING", `${shown} does not exist`, {
      kind: "preflight",
      location: { file: shown },
      hint: "run `./infra configure` to render it from cluster.yaml",
    });
  }
  let vars: Partial<DnsVars>;
  try {
    vars = JSON.parse(text) as Partial<DnsVars>;
  } catch (error) {
    throw new InfraError("TOFU_VARS_INVALID", `${shown} is not valid JSON`, {
      kind: "config",
      location: { file: shown },
      hint: "do not edit rendered files: run `./infra configure` to render it again",
      cause: error,
    });
  }
  const account = typeof vars.cloudflare_account_id === "string" ? vars.cloudflare_account_id.trim() : "";
  if (!account) {
    throw new InfraError(
      "CLOUDFLARE_ACCOUNT_MISSING",
      "no Cloudflare account id: cloudflare_account_id is empty",
      {
        kind: "preflight",
        location: { file: shown, path: "cloudflare_account_id" },
        hint: "set cloudflare.accountId in cluster.yaml (32 hex characters from the dashboard), then run `./infra configure`",
      },
    );
  }
  if (account === EXAMPLE_ACCOUNT_ID) {
    throw new InfraError(
      "CLOUDFLARE_ACCOUNT_MISSING",
      "the Cloudflare account id is still the example's placeholder",
      {
        kind: "preflight",
        location: { file: shown, path: "cloudflare_account_id" },
        hint: "set cloudflare.accountId in cluster.yaml to your account's id (dashboard → Account home → Account ID), then run `./infra configure`",
      },
    );
  }
  if (!env.CLOUDFLARE_API_TOKEN?.trim()) {
    throw new InfraError("CLOUDFLARE_TOKEN_MISSING", "CLOUDFLARE_API_TOKEN is not set", {
      kind: "preflight",
      hint:
        "export CLOUDFLARE_API_TOKEN (a token with Zone:Read and DNS:Edit on the zone and Workers R2 Storage:Edit " +
        "on the account), e.g. in .envrc (see .envrc.example); it is never written to a file in Git",
    });
  }
  return { tofuDir: join(cwd, TOFU_DIR), varsFile, vars: vars as DnsVars };
}
