# The records by key, with their fully qualified names; pure computation (no provider), so the
# static tier runs it with the real OpenTofu (test/static/tofu-tunnel.test.ts).

locals {
  all = [
    for r in var.records : merge(r, {
      fqdn = r.name == "@" ? var.zone_name : "${r.name}.${var.zone_name}"
    })
  ]
  # A name the Cloudflare Tunnel serves gets its proxied CNAME from the tunnel module: this module
  # publishes no address or alias record for it (a name resolves one way, never both).
  records = {
    for r in local.all : "${r.name}/${r.type}/${r.content}" => r
    if !(contains(var.excluded_fqdns, r.fqdn) && contains(["A", "AAAA", "CNAME"], r.type))
  }
  excluded = sort([for r in local.all : "${r.name}/${r.type}/${r.content}" if !contains(keys(local.records), "${r.name}/${r.type}/${r.content}")])
}
