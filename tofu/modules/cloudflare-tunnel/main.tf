# A remotely managed Cloudflare Tunnel: its ingress rules live in Cloudflare (config_src =
# "cloudflare"), cloudflared in the cluster runs it with the tunnel's token, and each host name
# gets a proxied CNAME to <tunnel-id>.cfargotunnel.com.

locals {
  cname_target = "${cloudflare_zero_trust_tunnel_cloudflared.this.id}.cfargotunnel.com"
}

resource "cloudflare_zero_trust_tunnel_cloudflared" "this" {
  account_id = var.account_id
  name       = var.name
  config_src = "cloudflare"
}

resource "cloudflare_zero_trust_tunnel_cloudflared_config" "this" {
  account_id = var.account_id
  tunnel_id  = cloudflare_zero_trust_tunnel_cloudflared.this.id

  config = {
    ingress = concat(
      [
        for h in local.ordered : {
          hostname = h
          service  = var.origin_service
          origin_request = {
            # SNI = the request's host name, so Traefik picks the Gateway listener (and certificate)
            # of that name; a fixed origin_server_name could not serve a wildcard.
            match_sn_ito_host = true
            no_tls_verify     = !var.origin_tls_verify
          }
        }
      ],
      # The last rule catches everything else: a request for a name the tunnel does not serve.
      [{ hostname = null, service = "http_status:404", origin_request = null }],
    )
  }
}

resource "cloudflare_dns_record" "this" {
  for_each = toset(var.hostnames)

  zone_id = var.zone_id
  name    = each.value
  type    = "CNAME"
  content = local.cname_target
  # Traffic to cfargotunnel.com only works through Cloudflare's proxy; proxied records have ttl 1.
  proxied = true
  ttl     = 1
  comment = var.comment
}

# The token cloudflared runs the tunnel with. It is sensitive and stored in the state: keep the
# state private (local and git-ignored, or an R2 backend with encryption).
data "cloudflare_zero_trust_tunnel_cloudflared_token" "this" {
  account_id = var.account_id
  tunnel_id  = cloudflare_zero_trust_tunnel_cloudflared.this.id
}
