/** `infra app ...`: declared here, implemented in new.ts (see src/command-declaration.ts). */
import { command, group } from "../command-declaration.js";

export const appCommands = [
  group("app", "applications deployed through Argo CD", [
    command({
      name: "new",
      summary: "scaffold kubernetes/apps/<name> from the template and register it",
      args: [{ name: "<name>", description: "application name (DNS-1123 label)" }],
      options: [{ flags: "--dry-run", description: "print the files that would be written" }],
      examples: ["infra app new whoami --dry-run", "infra app new whoami"],
      run: async (ctx, input) =>
        (await import("./new.js")).appNewCommand(ctx, { name: input.arg(0), dryRun: input.flag("dryRun") }),
    }),
  ]),
];
