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
      {
        flags: "--until <layer>",
        description: "stop after this layer",
        choices: ["dns", "hosts", "k3s", "gitops"],
      },
      {
        flags: "--skip <layer...>",
        description: "leave out these layers (e.g. --skip dns where OpenTofu cannot reach Cloudflare)",
        choices: ["dns", "hosts", "k3s", "gitops"],
      },
    ],
    examples: [
      "infra up --dry-run",
      "infra up --yes --timeout 45m",
      "infra up --until hosts --skip dns --yes",
    ],
    run: async (ctx, input) => {
      const { upCommand, upOptions } = await import("./up.js");
      return upCommand(ctx, { ...(await upOptions(input.options)), kube: kubeAccess(input) });
    },
  }),
];
