/** `infra secrets ...`: declared here, implemented next to it (see src/command-declaration.ts). */
import { command, DRY_RUN, group, type OptionDeclaration, YES } from "../command-declaration.js";

const AGE_KEY_FILE: OptionDeclaration = {
  flags: "--age-key-file <path>",
  description: "the age key (default: $SOPS_AGE_KEY_FILE, else init's default for the cluster)",
};

export const secretsCommands = [
  group("secrets", "the age key, the Ansible vault and the SOPS secrets", [
    command({
      name: "rotate",
      summary: "new age key and vault password; re-encrypt every *.sops.yaml and the vault for them",
      options: [
        AGE_KEY_FILE,
        {
          flags: "--vault-password-file <path>",
          description: "the vault password file (default: $ANSIBLE_VAULT_PASSWORD_FILE, else init's default)",
        },
        DRY_RUN("check that everything decrypts and list what would change; change nothing"),
        YES,
      ],
      examples: ["infra secrets rotate --dry-run", "infra secrets rotate --yes"],
      run: async (ctx, input) => {
        const rotate = await import("./rotate.js");
        return rotate.secretsRotateCommand(ctx, rotate.rotateOptions(input.options));
      },
    }),
    command({
      name: "env",
      summary: "print `export` lines for OpenTofu's Cloudflare token and R2 keys, decrypted from SOPS",
      options: [AGE_KEY_FILE],
      examples: ["infra secrets env", "infra secrets env --json"],
      read: true,
      run: async (ctx, input) => {
        const { privateFileFlags } = await import("./cluster-files.js");
        return (await import("./env.js")).secretsEnvCommand(ctx, privateFileFlags(input.options));
      },
    }),
  ]),
];
