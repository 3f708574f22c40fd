/** `infra completion`: declared here, implemented in completion.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const completionCommands = [
  command({
    name: "completion",
    summary: "print a shell completion script generated from the command tree (bash, zsh or fish)",
    args: [{ name: "<shell>", description: "bash, zsh or fish" }],
    examples: [
      "infra completion bash > ~/.local/share/bash-completion/completions/infra",
      "infra completion zsh > ~/.zfunc/_infra",
      "infra completion fish > ~/.config/fish/completions/infra.fish",
    ],
    run: async (_ctx, input) =>
      (await import("./completion.js")).completionCommand(input.arg(0), input.tree()),
  }),
];
