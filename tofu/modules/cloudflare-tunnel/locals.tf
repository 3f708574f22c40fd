# The order of the ingress rules; pure computation (no provider), so the static tier runs it with
# the real OpenTofu (test/static/tofu-tunnel.test.ts).

locals {
  # cloudflared tries the rules in order: exact names first, so a wildcard never shadows one.
  exact     = sort([for h in var.hostnames : h if !startswith(h, "*.")])
  wildcards = sort([for h in var.hostnames : h if startswith(h, "*.")])
  ordered   = concat(local.exact, local.wildcards)
}
