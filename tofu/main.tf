# DNS records, the backup bucket and (ingress.mode tunnel or both) the Cloudflare Tunnel of the
# cluster, on Cloudflare.
#
# Inputs come from cluster.yaml: `infra configure` renders cluster.auto.tfvars.json next to this
# file, and `infra dns plan` / `infra dns apply` run tofu with it. The API token is never a file
# value: the provider reads CLOUDFLARE_API_TOKEN from the environment.

terraform {
  required_version = ">= 1.10.0"

  required_providers {
    cloudflare = {
      source = "cloudflare/cloudflare"
      # The lock file (.terraform.lock.hcl) pins the exact version and its checksums.
      version = "~> 5.22"
    }
  }
}

provider "cloudflare" {
  # null: the provider reads CLOUDFLARE_API_TOKEN from the environment (the documented way).
  api_token = var.cloudflare_api_token
}

################################################################################
# Backup bucket (Velero file-system backups and K3s etcd snapshots)
################################################################################

module "r2_bucket" {
  source = "./modules/r2-bucket"

  account_id    = var.cloudflare_account_id
  name          = var.r2_bucket.name
  location      = var.r2_bucket.location
  storage_class = var.r2_bucket.storage_class
  jurisdiction  = var.r2_bucket.jurisdiction

  abort_incomplete_uploads_after_days = var.r2_abort_incomplete_uploads_after_days
}
