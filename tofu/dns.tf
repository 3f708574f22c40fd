################################################################################
# DNS records owned by OpenTofu
#
# Only the names the cluster itself needs and external-dns never writes: `k8s-api` (the
# Kubernetes API, pointing at the servers' Tailscale addresses, never proxied: it is reached over
# the tailnet only) and `ingress` (the ingress nodes' public addresses), plus the extra records of
# cluster.yaml's dns.records. external-dns owns the application hostnames of HTTPRoutes and their
# TXT ownership records; `infra check` rejects a record name that an HTTPRoute also uses, and the
# validation of var.dns_records rejects wildcards and names shaped like external-dns's TXT records.
################################################################################

data "cloudflare_zone" "this" {
  filter = {
    name = var.zone_name
  }
}

module "dns" {
  source = "./modules/cloudflare-dns"

  zone_id   = data.cloudflare_zone.this.zone_id
  zone_name = var.zone_name
  records   = var.dns_records
  comment   = "managed by OpenTofu (infra-k3s cluster ${var.cluster_name}); edit cluster.yaml, not the dashboard"

  # The tunnel's exact host names get its proxied CNAMEs, never a record from this module.
  excluded_fqdns = var.tunnel == null ? [] : [for h in var.tunnel.hostnames : h if !startswith(h, "*.")]
}
