/** `infra tailnet ...`: declared here, implemented in policy-command.ts and apply.ts (see src/command-declaration.ts). */
import { command, DRY_RUN, group, YES } from "../command-declaration.js";

const ADOPT = {
  flags: "--adopt",
  description: "add the cluster's blocks to a policy infra did not write (every rule already there is kept)",
};

const FORCE = {
  flags: "--force",
  description:
    "apply even when nodes on the tailnet lack the role tag the new policy opens the cluster's ports to",
};

export const tailnetCommands = [
  group("tailnet", "the mesh's access policy from cluster.yaml (Tailscale or headscale)", [
    command({
      name: "policy",
      summary: "print the tailnet policy the cluster needs (HuJSON)",
      options: [
        {
          flags: "--write",
          description: "update the cluster's blocks in tailnet/policy.hujson instead of printing",
        },
        ADOPT,
      ],
      examples: ["infra tailnet policy", "infra tailnet policy --write", "infra tailnet policy --json"],
      read: true,
      run: async (ctx, input) =>
        (await import("./policy-command.js")).tailnetPolicy(ctx, {
          config: input.string("config"),
          write: input.flag("write"),
          adopt: input.flag("adopt"),
        }),
    }),
    command({
      name: "apply",
      summary: "update the cluster's rules in the policy on the control server (diff, then ask)",
      changes: true,
      options: [YES, DRY_RUN("show the diff against the policy in force; send nothing"), ADOPT, FORCE],
      examples: ["infra tailnet apply --dry-run", "infra tailnet apply", "infra tailnet apply --adopt --yes"],
      run: async (ctx, input) =>
        (await import("./apply.js")).tailnetApply(ctx, {
          config: input.string("config"),
          yes: input.flag("yes"),
          dryRun: input.flag("dryRun"),
          adopt: input.flag("adopt"),
          force: input.flag("force"),
        }),
    }),
  ]),
];
