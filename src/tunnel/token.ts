/**
 * `infra tunnel token`: writes the tunnel's token, from CLOUDFLARE_TUNNEL_TOKEN, into Git as a
 * SOPS-encrypted Secret for cloudflared. The token is checked first: a tunnel token at all, of the
 * account in cluster.yaml, and of the tunnel in OpenTofu's state when the state is local. Nothing is
 * written when any check fails.
 *
 * `infra init` writes the same Secret (checkedTunnelToken, writeTokenSecret's document) when
 * CLOUDFLARE_TUNNEL_TOKEN is set, and a placeholder for the new age key otherwise.
 */
import { tunnelName } from "../config/derived.js";
import type { ClusterConfig } from "../config/schema.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { confirmAction } from "../ui/confirm.js";
import { TOKEN_ENV, TOKEN_SECRET_FILE, tokenSecretState, writeTokenSecret } from "./secret.js";
import { tunnelIdInLocalState } from "./state.js";
import { parseTunnelToken } from "./token-format.js";
import { loadTunnelConfig, type TunnelCommandOptions } from "./tunnel-config.js";

export type TunnelTokenOptions = TunnelCommandOptions;

export interface TunnelTokenResult {
  file: string;
  tunnel: string;
  tunnelId: string;
  /** The state holds this tunnel id (checked), or the state could not be read here. */
  stateChecked: boolean;
  action: "would write" | "written" | "replaced";
}

/** The command that gives the token, for hints. */
export const TOKEN_FROM_TOFU = `export ${TOKEN_ENV}="$(tofu -chdir=tofu output -raw tunnel_token)"`;

export interface CheckedToken {
  /** The token as given, trimmed. */
  text: string;
  tunnelId: string;
  /** The tunnel id in OpenTofu's local state, or undefined when the state is not local here. */
  stateId: string | undefined;
}

/**
 * CLOUDFLARE_TUNNEL_TOKEN, checked: a tunnel token at all, of cluster.yaml's account, and of the
 * tunnel in OpenTofu's local state. `infra tunnel token` and `infra init` write only such a token.
 */
export async function checkedTunnelToken(
  config: ClusterConfig,
  configFile: string,
  env: NodeJS.ProcessEnv,
  root: string,
): Promise<CheckedToken> {
  const text = env[TOKEN_ENV];
  if (!text?.trim()) {
    throw new InfraError("TUNNEL_TOKEN_MISSING", `${TOKEN_ENV} is not set; nothing was written`, {
      kind: "preflight",
      hint: `create the tunnel with \`infra dns apply\`, then ${TOKEN_FROM_TOFU} and run \`infra tunnel token\` again`,
    });
  }
  const token = parseTunnelToken(text);
  if ("problem" in token) {
    throw new InfraError("TUNNEL_TOKEN_INVALID", `${TOKEN_ENV} is not a tunnel token: ${token.problem}`, {
      kind: "usage",
      hint: `set it from OpenTofu's output, unquoted and on one line: ${TOKEN_FROM_TOFU}`,
    });
  }
  if (token.accountTag !== config.cloudflare.accountId) {
    throw new InfraError(
      "TUNNEL_TOKEN_INVALID",
      `${TOKEN_ENV} is the token of a tunnel in account ${token.accountTag}, not of cloudflare.accountId ${config.cloudflare.accountId}`,
      {
        kind: "usage",
        location: { file: configFile, path: "cloudflare.accountId" },
        hint: `take the token of this cluster's tunnel: ${TOKEN_FROM_TOFU}`,
      },
    );
  }
  const stateId = await tunnelIdInLocalState(root);
  if (stateId !== undefined && stateId !== token.tunnelId) {
    throw new InfraError(
      "TUNNEL_TOKEN_INVALID",
      `${TOKEN_ENV} is the token of tunnel ${token.tunnelId}, but OpenTofu's state holds ${tunnelName(config)} as ${stateId}`,
      { kind: "usage", hint: `take the token of this cluster's tunnel: ${TOKEN_FROM_TOFU}` },
    );
  }
  return { text: text.trim(), tunnelId: token.tunnelId, stateId };
}

export async function tunnelTokenCommand(
  ctx: CommandContext,
  options: TunnelTokenOptions,
): Promise<Outcome<TunnelTokenResult>> {
  const { config, source } = await loadTunnelConfig(ctx, options, "to hold a token for");
  const token = await checkedTunnelToken(config, source.display, ctx.env, ctx.cwd);
  const { text, stateId } = token;
  const state = await tokenSecretState(ctx.cwd);
  const result: TunnelTokenResult = {
    file: TOKEN_SECRET_FILE,
    tunnel: tunnelName(config),
    tunnelId: token.tunnelId,
    stateChecked: stateId !== undefined,
    action: options.dryRun ? "would write" : state === "written" ? "replaced" : "written",
  };
  if (options.dryRun) return outcome(result, render);
  if (state === "written") {
    await confirmAction(ctx, `Replace the tunnel token in ${TOKEN_SECRET_FILE}?`, options.yes);
  }
  await writeTokenSecret(ctx.cwd, text, ctx.env);
  return outcome(result, render);
}

function render(r: TunnelTokenResult): string {
  const lines = [
    `${r.action === "would write" ? "would write" : `✓ ${r.action}`}  ${r.file}  (tunnel ${r.tunnel}, ${r.tunnelId})`,
  ];
  if (!r.stateChecked)
    lines.push("note: OpenTofu's state is not local here, so the tunnel id was not compared with it");
  if (r.action !== "would write") {
    lines.push("", "next: commit and push it (Argo CD reads it from Git), then `infra up`");
  }
  return lines.join("\n");
}
