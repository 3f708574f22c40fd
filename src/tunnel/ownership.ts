/**
 * Before OpenTofu creates the tunnel: a tunnel of the same name that this project's state does not
 * hold stops the run (TUNNEL_NAME_TAKEN), with the import that adopts it, before anything is applied.
 */
import { exec } from "../adapters/exec.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { apiFromEnv, type CloudflareApi } from "./cloudflare-api.js";
import { TUNNEL_ADDRESS, TUNNEL_CONFIG_ADDRESS, tunnelIdFromShow } from "./state.js";

export interface OwnershipInput {
  accountId: string;
  name: string;
  /** The tunnel id the OpenTofu state holds, if any. */
  stateId: string | undefined;
}

export async function assertTunnelOwnership(api: CloudflareApi, input: OwnershipInput): Promise<void> {
  const tunnels = await api.tunnelsNamed(input.accountId, input.name);
  const foreign = tunnels.find((t) => t.id !== input.stateId);
  if (!foreign) return;
  const id = `${input.accountId}/${foreign.id}`;
  throw new InfraError(
    "TUNNEL_NAME_TAKEN",
    `a Cloudflare Tunnel named ${input.name} already exists (id ${foreign.id}${foreign.created_at ? `, created ${foreign.created_at}` : ""}) and this project's OpenTofu state does not hold it; nothing was changed`,
    {
      kind: "preflight",
      location: { file: "cluster.yaml", path: "ingress.tunnel.name" },
      hint:
        `if it is this cluster's tunnel (the state was lost), adopt it: cd tofu && tofu import '${TUNNEL_ADDRESS}' ${id} && tofu import '${TUNNEL_CONFIG_ADDRESS}' ${id}; ` +
        "otherwise choose another ingress.tunnel.name in cluster.yaml and run `infra configure`",
    },
  );
}

/** After `tofu init`, before plan: the state's tunnel id (`tofu show -json`) against the account's tunnels. */
export async function checkTunnelOwnership(
  ctx: CommandContext,
  tofuDir: string,
  env: NodeJS.ProcessEnv,
  accountId: string,
  name: string,
): Promise<void> {
  const shown = await exec("tofu", ["show", "-json", "-no-color"], { cwd: tofuDir, env, check: false });
  const stateId = shown.exitCode === 0 ? tunnelIdFromShow(shown.stdout) : undefined;
  await assertTunnelOwnership(apiFromEnv(ctx.env, ctx.signal), { accountId, name, stateId });
}
