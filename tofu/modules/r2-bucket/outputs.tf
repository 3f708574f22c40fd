output "name" {
  description = "Name of the bucket."
  value       = cloudflare_r2_bucket.this.name
}

output "jurisdiction" {
  description = "Jurisdiction of the bucket."
  value       = var.jurisdiction
}

output "s3_endpoint" {
  description = "S3 API endpoint for the bucket's jurisdiction (path-style, region \"auto\")."
  value       = "https://${var.account_id}${var.jurisdiction == "default" ? "" : ".${var.jurisdiction}"}.r2.cloudflarestorage.com"
}

output "lifecycle_rules" {
  description = "The bucket's lifecycle rules as planned."
  value       = cloudflare_r2_bucket_lifecycle.this.rules
}
