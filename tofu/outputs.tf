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
