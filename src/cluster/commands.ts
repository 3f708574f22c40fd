/** `infra cluster ...`: declared here, implemented next to it (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const clusterCommands = [
  group("cluster", "cluster lifecycle", [
    command({
      name: "init",
      summary: "bootstrap all hosts and install the first K3s server",
      changes: true,
      options: [
        DRY_RUN("run the playbooks in check mode with diff; change nothing"),
        YES,
        { flags: "--until <layer>", description: "stop after this layer", choices: ["hosts", "k3s"] },
        { flags: "--skip <layer...>", description: "leave out these layers", choices: ["hosts", "k3s"] },
      ],
      examples: [
        "infra cluster init --dry-run",
        "infra cluster init --yes",
        "infra cluster init --skip hosts --dry-run",
      ],
      run: async (ctx, input) => {
        const init = await import("./init.js");
        return init.clusterInitCommand(ctx, init.clusterInitOptions(input.options));
      },
    }),
  ]),
];
