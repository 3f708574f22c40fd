/** `infra up`: declared here, implemented in up.ts (see src/command-declaration.ts). */
import { command, DRY_RUN, YES } from "../command-declaration.js";
import { kubeAccess } from "../kube/access-options.js";

export const upCommands = [
  command({
    name: "up",
    summary: "create or converge the whole cluster: DNS and bucket, hosts, K3s, GitOps",
    changes: true,
    cluster: true,
    options: [
      DRY_RUN(),
      YES,
      {
        flags: "--timeout <duration>",
        description: "how long to wait for the applications to become healthy",
        default: "30m",
      },
    ],
    examples: ["infra up --dry-run", "infra up --yes --timeout 45m"],
    run: async (ctx, input) => {
      const { durationOption } = await import("../kube/wait.js");
      const { upCommand } = await import("./up.js");
      const config = input.string("config");
      return upCommand(ctx, {
        dryRun: input.flag("dryRun"),
        yes: input.flag("yes"),
        ...(config !== undefined ? { config } : {}),
        timeoutMs: durationOption("--timeout", String(input.options.timeout)),
        kube: kubeAccess(input),
      });
    },
  }),
];
