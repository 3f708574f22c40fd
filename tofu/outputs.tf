output "zone_id" {
  description = "Id of the Cloudflare zone that holds the records."
  value       = data.cloudflare_zone.this.zone_id
}

output "dns_records" {
  description = "The records OpenTofu owns, by key \"<name>/<type>/<content>\": fqdn, type, content, proxied, ttl."
  value       = module.dns.records
}

output "dns_record_ids" {
  description = "Cloudflare ids of the records, by the same keys as dns_records."
  value       = module.dns.ids
}

output "dns_fqdns" {
  description = "The distinct fully qualified names OpenTofu owns (external-dns must never manage these)."
  value       = module.dns.fqdns
}

output "r2_bucket_name" {
  description = "Name of the backup bucket (Velero's BackupStorageLocation and K3s etcd snapshots)."
  value       = module.r2_bucket.name
}

output "r2_s3_endpoint" {
  description = "S3 endpoint of the bucket's jurisdiction, for Velero, K3s etcd-s3 and the state backend."
  value       = module.r2_bucket.s3_endpoint
}

output "r2_lifecycle_rules" {
  description = "Lifecycle rules of the bucket (they abort incomplete uploads and never delete objects)."
  value       = module.r2_bucket.lifecycle_rules
}

output "dns_excluded" {
  description = "Records of dns_records left out because the tunnel serves their name (keys \"<name>/<type>/<content>\")."
  value       = module.dns.excluded
}

output "tunnel_id" {
  description = "UUID of the Cloudflare Tunnel (null in public mode)."
  value       = try(module.cloudflare_tunnel[0].id, null)
}

output "tunnel_cname_target" {
  description = "What the tunnel's CNAME records point at, <tunnel-id>.cfargotunnel.com (null in public mode)."
  value       = try(module.cloudflare_tunnel[0].cname_target, null)
}

output "tunnel_records" {
  description = "The tunnel's proxied CNAME records by host name (empty in public mode)."
  value       = try(module.cloudflare_tunnel[0].records, {})
}

output "tunnel_ingress" {
  description = "The tunnel's ingress rules in order, the 404 catch-all last (empty in public mode)."
  value       = try(module.cloudflare_tunnel[0].ingress, [])
}

output "tunnel_token" {
  description = "The token cloudflared runs the tunnel with (sensitive; null in public mode). `infra tunnel token` reads it from CLOUDFLARE_TUNNEL_TOKEN: export CLOUDFLARE_TUNNEL_TOKEN=\"$(tofu -chdir=tofu output -raw tunnel_token)\"."
  value       = try(module.cloudflare_tunnel[0].token, null)
  sensitive   = true
}
