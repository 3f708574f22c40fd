/** `infra doctor` and `infra tools ...`: declared here, implemented next to it (see src/command-declaration.ts). */
import { command, group } from "../command-declaration.js";

export const toolchainCommands = [
  command({
    name: "doctor",
    summary: "report each external tool: found or missing, version, and the command that fixes it",
    examples: ["infra doctor", "infra doctor --json"],
    read: true,
    run: async (ctx) => (await import("./doctor.js")).doctorCommand(ctx),
  }),
  group("tools", "the pinned external tools (tools/versions.yaml)", [
    command({
      name: "install",
      summary: "install the pinned tools that are missing into the per-user cache",
      args: [{ name: "[names...]", description: "tools to install (default: all)" }],
      options: [{ flags: "--list", description: "list the pinned tools and where they go; install nothing" }],
      examples: ["infra tools install", "infra tools install kubeconform sops", "infra tools install --list"],
      run: async (ctx, input) =>
        (await import("./install.js")).installCommand(ctx, {
          names: [...input.args],
          list: input.flag("list"),
        }),
    }),
    command({
      name: "env",
      summary: "print `export PATH=...` that puts the pinned tools first (for shells and scripts)",
      examples: ["infra tools env"],
      read: true,
      run: async (ctx) => (await import("./env.js")).envCommand(ctx),
    }),
  ]),
];
