/** `infra dns ...`: declared here, implemented in dns.ts (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const dnsCommands = [
  group("dns", "Cloudflare DNS records and the R2 bucket (OpenTofu)", [
    command({
      name: "plan",
      summary: "tofu plan with the rendered variables",
      examples: ["infra dns plan", "infra dns plan --json"],
      read: true,
      run: async (ctx) => (await import("./dns.js")).dnsPlan(ctx),
    }),
    command({
      name: "apply",
      summary: "tofu apply with the rendered variables",
      changes: true,
      options: [YES, DRY_RUN("plan only: show what would change, change nothing")],
      examples: ["infra dns apply --dry-run", "infra dns apply --yes"],
      run: async (ctx, input) =>
        (await import("./dns.js")).dnsApply(ctx, { yes: input.flag("yes"), dryRun: input.flag("dryRun") }),
    }),
  ]),
];
