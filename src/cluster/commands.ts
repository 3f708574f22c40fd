/** `infra cluster ...`: declared here, implemented next to it (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const clusterCommands = [
  group("cluster", "cluster lifecycle", [
    command({
      name: "init",
      summary: "bootstrap all hosts and install the first K3s server",
      changes: true,
      options: [DRY_RUN("run the playbooks in check mode with diff; change nothing"), YES],
      examples: ["infra cluster init --dry-run", "infra cluster init --yes"],
      run: async (ctx, input) => {
        const config = input.string("config");
        return (await import("./init.js")).clusterInitCommand(ctx, {
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          ...(config !== undefined ? { config } : {}),
        });
      },
    }),
  ]),
];
