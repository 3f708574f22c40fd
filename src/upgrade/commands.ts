/** `infra upgrade`: declared here, implemented in upgrade.ts (see src/command-declaration.ts). */
import { clusterOptions } from "../backup/commands.js";
import { command, DRY_RUN, YES } from "../command-declaration.js";

export const upgradeCommands = [
  command({
    name: "upgrade",
    summary: "upgrade K3s node by node: etcd snapshot, then cordon, drain, upgrade, uncordon",
    options: [
      {
        flags: "--to <version>",
        description: "K3s release to move to (default: k3s.version in cluster.yaml)",
      },
      {
        flags: "--max-unavailable <n>",
        description: "agents upgraded at the same time (servers always one at a time)",
        default: "1",
      },
      {
        flags: "--drain-timeout <duration>",
        description: "give up draining a node after this long (PodDisruptionBudgets may hold it)",
        default: "10m",
      },
      {
        flags: "--node-timeout <duration>",
        description: "give up waiting for an upgraded node to be Ready after this long",
        default: "15m",
      },
      DRY_RUN("print the checks, the order and what each drain would evict; change nothing"),
      YES,
    ],
    examples: ["infra upgrade --dry-run", "infra upgrade --to v1.37.1+k3s1 --max-unavailable 2 --yes"],
    cluster: true,
    changes: true,
    run: async (ctx, input) =>
      (await import("./upgrade.js")).upgradeCommand(ctx, {
        ...clusterOptions(input),
        to: input.string("to"),
        config: input.string("config"),
        maxUnavailable: input.string("maxUnavailable"),
        drainTimeout: input.string("drainTimeout"),
        nodeTimeout: input.string("nodeTimeout"),
        dryRun: input.flag("dryRun"),
        yes: input.flag("yes"),
      }),
  }),
];
