/** `infra init`: declared here, implemented in init.ts (see src/command-declaration.ts). */
import { command } from "../command-declaration.js";

export const initCommands = [
  command({
    name: "init",
    summary: "create cluster.yaml (interactively or from flags) and an age key with .sops.yaml",
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
        description: "where the age private key goes (default: ~/.config/sops/age/<name>.txt)",
      },
      { flags: "-y, --yes", description: "replace an existing cluster.yaml / .sops.yaml without asking" },
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
