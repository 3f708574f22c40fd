output "ids" {
  description = "Cloudflare record ids by key \"<name>/<type>/<content>\"."
  value       = { for k, r in cloudflare_dns_record.this : k => r.id }
}

output "fqdns" {
  description = "The distinct fully qualified names of the records, sorted."
  value       = sort(distinct([for r in local.records : r.fqdn]))
}

output "records" {
  description = "The records by key \"<name>/<type>/<content>\": fqdn, type, content, proxied, ttl."
  value = {
    for k, r in cloudflare_dns_record.this : k => {
      fqdn    = r.name
      type    = r.type
      content = r.content
      proxied = r.proxied
      ttl     = r.ttl
    }
  }
}

output "excluded" {
  description = "Keys (\"<name>/<type>/<content>\") of the records left out because the tunnel serves their name."
  value       = local.excluded
}
