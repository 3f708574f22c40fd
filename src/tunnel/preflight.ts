/**
 * What `infra up` checks about the tunnel before it applies anything: in ingress mode tunnel or
 * both, cloudflared's token Secret in Git must be written for this cluster (not the shipped example,
 * not init's placeholder, not missing); otherwise Argo CD would sync a connector that cannot start.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InfraError } from "../errors.js";
import type { Phase, PhaseContext } from "../phases/phase.js";
import { TOKEN_ENV, TOKEN_SECRET_FILE, tokenSecretState } from "./secret.js";
import { TOKEN_FROM_TOFU } from "./token.js";

const TOFU_VARS = join("tofu", "cluster.auto.tfvars.json");

/** The tunnel's name from the rendered OpenTofu variables, or undefined in public mode. */
export async function renderedTunnel(root: string): Promise<string | undefined> {
  const text = await readFile(join(root, TOFU_VARS), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const vars = JSON.parse(text) as { tunnel?: { name?: unknown } | null };
    return typeof vars.tunnel?.name === "string" ? vars.tunnel.name : undefined;
  } catch {
    return undefined;
  }
}

export async function assertTokenSecret(root: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const tunnel = await renderedTunnel(root);
  if (!tunnel) return undefined;
  const state = await tokenSecretState(root);
  if (state === "written") return tunnel;
  const what = {
    missing: `${TOKEN_SECRET_FILE} does not exist`,
    foreign: `${TOKEN_SECRET_FILE} is not encrypted for this cluster's age key (still the example?)`,
    placeholder: `${TOKEN_SECRET_FILE} holds \`infra init\`'s placeholder, not the tunnel's token`,
  }[state];
  const next = env[TOKEN_ENV]?.trim()
    ? "run `infra tunnel token` (it reads CLOUDFLARE_TUNNEL_TOKEN), commit and push, then `infra up` again"
    : `create the tunnel with \`infra dns apply\`, ${TOKEN_FROM_TOFU}, run \`infra tunnel token\`, commit and push, then \`infra up\` again`;
  throw new InfraError(
    "TUNNEL_TOKEN_MISSING",
    `the tunnel ${tunnel} has no token for cloudflared: ${what}${env[TOKEN_ENV]?.trim() ? "" : ` and ${TOKEN_ENV} is not set`}; nothing was applied`,
    { kind: "preflight", location: { file: TOKEN_SECRET_FILE }, hint: next },
  );
}

export class CheckTunnelToken implements Phase {
  readonly title = "Check the Cloudflare Tunnel's token for cloudflared (ingress.mode tunnel or both)";
  constructor(
    private readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}
  async run(phase: PhaseContext): Promise<void> {
    const tunnel = await assertTokenSecret(this.root, this.env);
    phase.reporter.step(
      "tunnel",
      tunnel ? `${tunnel}: token Secret written for this cluster` : "ingress.mode public: no tunnel",
    );
  }
}
