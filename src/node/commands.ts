/** `infra node ...`: declared here, implemented in add.ts and remove.ts (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

export const nodeCommands = [
  group("node", "add and remove nodes", [
    command({
      name: "add",
      summary: "bootstrap one host and join it to the cluster",
      changes: true,
      args: [{ name: "<name>", description: "node name from cluster.yaml" }],
      options: [
        DRY_RUN("run the playbooks in check mode with diff; change nothing"),
        YES,
        {
          flags: "--until <layer>",
          description: "stop after this layer (hosts: bootstrap only)",
          choices: ["hosts", "k3s"],
        },
        { flags: "--skip <layer...>", description: "leave out these layers", choices: ["hosts", "k3s"] },
      ],
      examples: [
        "infra node add hetzner-3 --dry-run",
        "infra node add hetzner-3 --yes",
        "infra node add hetzner-3 --until hosts --yes",
      ],
      run: async (ctx, input) => {
        const add = await import("./add.js");
        return add.nodeAddCommand(ctx, add.nodeAddOptions({ ...input.options, args: input.args }));
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
