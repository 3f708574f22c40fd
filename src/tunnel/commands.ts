/** `infra tunnel ...`: declared here, implemented in token.ts and handover.ts (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const tunnelCommands = [
  group(
    "tunnel",
    "the Cloudflare Tunnel of ingress.mode tunnel or both: its token in Git, the switch of names to it",
    [
      command({
        name: "token",
        summary:
          "write the tunnel's token (CLOUDFLARE_TUNNEL_TOKEN) as a SOPS-encrypted Secret for cloudflared",
        options: [YES, DRY_RUN("check the token and say what would be written; write nothing")],
        examples: ["infra tunnel token --dry-run", "infra tunnel token", "infra tunnel token --yes"],
        run: async (ctx, input) => {
          const config = input.string("config");
          return (await import("./token.js")).tunnelTokenCommand(ctx, {
            dryRun: input.flag("dryRun"),
            yes: input.flag("yes"),
            ...(config !== undefined ? { config } : {}),
          });
        },
      }),
      command({
        name: "handover",
        summary: "delete the external-dns records that keep names the tunnel serves off its wildcard",
        options: [YES, DRY_RUN("list the records that would be deleted; delete nothing")],
        examples: ["infra tunnel handover --dry-run", "infra tunnel handover --yes"],
        run: async (ctx, input) => {
          const config = input.string("config");
          return (await import("./handover.js")).tunnelHandoverCommand(ctx, {
            dryRun: input.flag("dryRun"),
            yes: input.flag("yes"),
            ...(config !== undefined ? { config } : {}),
          });
        },
      }),
    ],
  ),
];
