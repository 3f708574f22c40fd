/** `infra init`: declared here, implemented in init.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const initCommands = [
  command({
    name: "init",
    summary:
      "create cluster.yaml, an age key with .sops.yaml, the Ansible vault and the SOPS secrets (from " +
      "TAILSCALE_AUTH_KEY, CLOUDFLARE_API_TOKEN, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, else asked; never flags)" +
      "; the tunnel token Secret from CLOUDFLARE_TUNNEL_TOKEN, else a placeholder",
    options: [
      { flags: "--name <name>", description: "cluster name (DNS-1123 label)" },
      { flags: "--domain <domain>", description: "base domain in your Cloudflare zone" },
      { flags: "--cloudflare-account-id <id>", description: "Cloudflare account id (32 hex characters)" },
      { flags: "--acme-email <email>", description: "e-mail for Let's Encrypt" },
      { flags: "--acme-environment <env>", description: "staging or production (default: staging)" },
      { flags: "--git-repo-url <url>", description: "Git repository Argo CD syncs from" },
      { flags: "--git-revision <rev>", description: "Git revision (default: main)" },
      { flags: "--k3s-version <version>", description: "pinned K3s release (default: the tested pin)" },
      { flags: "--bucket <name>", description: "R2 bucket for backups (default: <name>-backups)" },
      {
        flags: "--node <spec...>",
        description:
          "a node: name=,role=,provider=,region=,ip=[,tailscale-ip=][,user=][,ingress] (repeatable)",
      },
      {
        flags: "--age-key-file <path>",
        description:
          "where the age private key goes (default: $SOPS_AGE_KEY_FILE, else ~/.config/sops/age/<name>.txt)",
      },
      {
        flags: "--vault-password-file <path>",
        description:
          "where the vault password goes (default: $ANSIBLE_VAULT_PASSWORD_FILE, else ~/.config/infra-k3s/<name>.vault-pass)",
      },
      {
        flags: "-y, --yes",
        description:
          "replace existing files that differ (cluster.yaml, .sops.yaml, the secrets) without asking",
      },
    ],
    examples: [
      "infra init",
      "infra init --name demo --domain example.org --node name=cp-1,role=server,provider=hetzner,region=fsn1,ip=203.0.113.10",
    ],
    run: async (ctx, input) => {
      const init = await import("./init.js");
      return init.initCommand(ctx, init.initOptions(input.options));
    },
  }),
];
