/** `infra tunnel ...`: declared here, implemented in token.ts and handover.ts (see src/command-declaration.ts). */
import { type CommandInput, command, DRY_RUN, group, YES } from "../command-declaration.js";

/** --dry-run, --yes and the global --config, as both commands take them. */
function options(input: CommandInput) {
  const config = input.string("config");
  return {
    dryRun: input.flag("dryRun"),
    yes: input.flag("yes"),
    ...(config !== undefined ? { config } : {}),
  };
}

export const tunnelCommands = [
  group(
    "tunnel",
    "the Cloudflare Tunnel of ingress.mode tunnel or both: its token in Git, the switch of names to it",
    [
      command({
        name: "token",
        summary:
          "write the tunnel's token (CLOUDFLARE_TUNNEL_TOKEN) as a SOPS-encrypted Secret for cloudflared",
        changes: true,
        options: [YES, DRY_RUN("check the token and say what would be written; write nothing")],
        examples: ["infra tunnel token --dry-run", "infra tunnel token", "infra tunnel token --yes"],
        run: async (ctx, input) => (await import("./token.js")).tunnelTokenCommand(ctx, options(input)),
      }),
      command({
        name: "handover",
        summary: "delete the external-dns records that keep names the tunnel serves off its wildcard",
        changes: true,
        options: [YES, DRY_RUN("list the records that would be deleted; delete nothing")],
        examples: ["infra tunnel handover --dry-run", "infra tunnel handover --yes"],
        run: async (ctx, input) => (await import("./handover.js")).tunnelHandoverCommand(ctx, options(input)),
      }),
    ],
  ),
];
