/** `infra init` with every required flag: a one-server cluster "lab" (the tests' standard answers). */
export const INIT_ARGS = [
  "init",
  "--name",
  "lab",
  "--domain",
  "lab.example.net",
  "--cloudflare-account-id",
  "abcdefabcdefabcdefabcdefabcdef12",
  "--acme-email",
  "ops@example.net",
  "--git-repo-url",
  "https://git.example.net/lab.git",
  "--node",
  "name=hz-1,role=server,provider=hetzner,region=fsn1,ip=5.75.2.1,ingress",
];
