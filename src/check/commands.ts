/** `infra check`: declared here, implemented in check-command.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const checkCommands = [
  command({
    name: "check",
    summary: "validate the repository offline: manifests, schemas, stack rules, secrets",
    options: [
      { flags: "--no-schemas", description: "skip schema validation (builds and stack rules only)" },
      {
        flags: "--path <dir>",
        description: "check this folder of manifests/kustomizations instead of kubernetes/",
      },
    ],
    examples: ["infra check", "infra check --no-schemas", "infra check --path ../homelab --json"],
    read: true,
    run: async (ctx, input) => {
      const check = await import("./check-command.js");
      return check.checkCommand(ctx, check.checkOptions(input.options));
    },
  }),
];
