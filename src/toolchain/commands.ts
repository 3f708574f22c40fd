/** `infra doctor` and `infra tools ...`: declared here, implemented next to it (see src/command-declaration.ts). */
import { command, group } from "../command-declaration.js";

export const toolchainCommands = [
  command({
    name: "doctor",
    summary: "report each external tool: found or missing, version, and the command that fixes it",
    options: [
      {
        flags: "--tests",
        description: "exit 1 unless the test tools are complete too (default: the user tools)",
      },
    ],
    examples: ["infra doctor", "infra doctor --json", "infra doctor --tests"],
    read: true,
    run: async (ctx, input) =>
      (await import("./doctor.js")).doctorCommand(ctx, { tests: input.flag("tests") }),
  }),
  group("tools", "the pinned external tools (tools/versions.yaml)", [
    command({
      name: "install",
      summary: "install the pinned tools that are missing into the per-user cache",
      args: [{ name: "[names...]", description: "tools to install (default: the user group)" }],
      options: [
        { flags: "--tests", description: "also install the test tools: servers, VM tools, linters" },
        { flags: "--list", description: "list the pinned tools and where they go; install nothing" },
      ],
      examples: [
        "infra tools install",
        "infra tools install --tests",
        "infra tools install kubeconform sops",
        "infra tools install --list",
      ],
      run: async (ctx, input) =>
        (await import("./install.js")).installCommand(ctx, {
          names: [...input.args],
          list: input.flag("list"),
          tests: input.flag("tests"),
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
