# An R2 bucket for backups, with lifecycle rules that only clean up after failed uploads.
#
# Velero and K3s expire their own backups (Backup TTLs, etcd-snapshot-retention): a bucket rule
# that deleted objects would remove Kopia repository data Velero still needs. So the rules here
# abort incomplete multipart uploads and never delete or transition objects.

resource "cloudflare_r2_bucket" "this" {
  account_id    = var.account_id
  name          = var.name
  location      = var.location
  storage_class = var.storage_class
  jurisdiction  = var.jurisdiction

  lifecycle {
    # Losing this bucket loses every backup: `tofu destroy` must not take it with it.
    prevent_destroy = true
  }
}

resource "cloudflare_r2_bucket_lifecycle" "this" {
  account_id   = var.account_id
  bucket_name  = cloudflare_r2_bucket.this.name
  jurisdiction = var.jurisdiction

  # This resource owns the bucket's whole rule list (it replaces R2's default rule).
  rules = [
    {
      id         = "abort-incomplete-multipart-uploads"
      enabled    = true
      conditions = { prefix = "" }
      abort_multipart_uploads_transition = {
        condition = {
          type    = "Age"
          max_age = var.abort_incomplete_uploads_after_days * 86400
        }
      }
    },
  ]
}
