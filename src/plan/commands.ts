/** `infra plan`: declared here, implemented in plan-command.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const planCommands = [
  command({
    name: "plan",
    summary: "show what `infra up` would do, without credentials and without changing anything",
    examples: ["infra plan", "infra plan --json"],
    read: true,
    run: async (ctx, input) =>
      (await import("./plan-command.js")).planCommand(ctx, { config: input.string("config") }),
  }),
];
