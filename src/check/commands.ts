/** `infra check`: declared here, implemented in check-command.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const checkCommands = [
  command({
    name: "check",
    summary: "validate the repository offline: manifests, schemas, stack rules, secrets",
    options: [{ flags: "--no-schemas", description: "skip schema validation (builds and stack rules only)" }],
    examples: ["infra check", "infra check --no-schemas"],
    read: true,
    run: async (ctx, input) =>
      (await import("./check-command.js")).checkCommand(ctx, { schemas: input.options.schemas !== false }),
  }),
];
