/** `infra configure`: declared here, implemented in configure.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const renderCommands = [
  command({
    name: "configure",
    summary: "render the Ansible inventory, OpenTofu variables and cluster values from cluster.yaml",
    changes: true,
    options: [
      { flags: "--check", description: "exit non-zero when a rendered file is stale; write nothing" },
    ],
    examples: ["infra configure", "infra configure --check"],
    run: async (ctx, input) =>
      (await import("./configure.js")).configureCommand(ctx, {
        config: input.string("config"),
        check: input.flag("check"),
      }),
  }),
];
