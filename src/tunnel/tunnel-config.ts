/** cluster.yaml for a tunnel command: loaded and validated, with a tunnel (modes tunnel and both). */

import { tunnelEnabled } from "../config/derived.js";
import type { LoadedConfig } from "../config/load.js";
import { loadClusterConfig } from "../config/load.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";

export interface TunnelCommandOptions {
  config?: string;
  dryRun: boolean;
  yes: boolean;
}

/** The config, or TUNNEL_NOT_CONFIGURED (exit 2) in public mode: `there is no tunnel ${what}`. */
export async function loadTunnelConfig(
  ctx: CommandContext,
  options: TunnelCommandOptions,
  what: string,
): Promise<LoadedConfig> {
  const loaded = await loadClusterConfig(ctx, options.config);
  if (!tunnelEnabled(loaded.config)) {
    throw new InfraError("TUNNEL_NOT_CONFIGURED", `ingress.mode is public: there is no tunnel ${what}`, {
      kind: "config",
      location: { file: loaded.source.display, path: "ingress.mode" },
      hint: "set ingress.mode to tunnel or both in cluster.yaml (both keeps public ingress while you switch) and follow docs/runbooks/switch-to-tunnel.md",
    });
  }
  return loaded;
}
