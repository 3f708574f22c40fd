/** `infra node ...`: declared here, implemented in add.ts and remove.ts (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const nodeCommands = [
  group("node", "add and remove nodes", [
    command({
      name: "add",
      summary: "bootstrap one host and join it to the cluster",
      changes: true,
      args: [{ name: "<name>", description: "node name from cluster.yaml" }],
      options: [DRY_RUN("run the playbooks in check mode with diff; change nothing"), YES],
      examples: ["infra node add hetzner-3 --dry-run", "infra node add hetzner-3 --yes"],
      run: async (ctx, input) => {
        const config = input.string("config");
        return (await import("./add.js")).nodeAddCommand(ctx, {
          name: input.arg(0),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          ...(config !== undefined ? { config } : {}),
        });
      },
    }),
    command({
      name: "remove",
      summary: "drain the node, delete it from Kubernetes and uninstall K3s from the host",
      changes: true,
      args: [{ name: "<name>", description: "node name" }],
      options: [DRY_RUN("show what would be done; change nothing"), YES],
      examples: ["infra node remove hetzner-3 --dry-run", "infra node remove hetzner-3 --yes"],
      run: async (ctx, input) => {
        const config = input.string("config");
        return (await import("./remove.js")).nodeRemoveCommand(ctx, {
          name: input.arg(0),
          dryRun: input.flag("dryRun"),
          yes: input.flag("yes"),
          ...(config !== undefined ? { config } : {}),
        });
      },
    }),
  ]),
];
