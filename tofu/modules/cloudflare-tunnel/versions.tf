terraform {
  required_version = ">= 1.10.0"

  required_providers {
    cloudflare = {
      source = "cloudflare/cloudflare"
      # match_sn_ito_host in the tunnel configuration's origin_request arrived in 5.13.
      version = ">= 5.13"
    }
  }
}
