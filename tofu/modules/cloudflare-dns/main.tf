# DNS records from a list, in one Cloudflare zone.
#
# Each record is keyed by "<name>/<type>/<content>", so several records can share a name (one A
# record per address) and reordering the list changes nothing.

resource "cloudflare_dns_record" "this" {
  for_each = local.records

  zone_id = var.zone_id
  name    = each.value.fqdn
  type    = each.value.type
  content = each.value.content
  proxied = each.value.proxied
  ttl     = each.value.ttl
  comment = var.comment
}
