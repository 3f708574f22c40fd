# State backend.
#
# Default: local state in terraform.tfstate next to this file (git-ignored), right for a first
# run by one person. The provider reads CLOUDFLARE_API_TOKEN (never stored); in ingress mode tunnel or
# both the state also holds the tunnel's token (output tunnel_token): keep state files private.
#
# For a team, keep the state in R2 with S3-native locking: create the state bucket once (it must
# exist before `tofu init`), then
#   cp backend.r2.tf.example backend_override.tf      # an override file replaces this block
#   # edit bucket, key and the account id in the endpoint
#   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an R2 API token's S3 keys
#   tofu init -migrate-state
# docs/dns.md ("Remote state in R2") has the details.
terraform {
  backend "local" {}
}
