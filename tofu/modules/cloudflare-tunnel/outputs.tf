output "id" {
  description = "UUID of the tunnel."
  value       = cloudflare_zero_trust_tunnel_cloudflared.this.id
}

output "name" {
  description = "Name of the tunnel in the account."
  value       = cloudflare_zero_trust_tunnel_cloudflared.this.name
}

output "cname_target" {
  description = "What the tunnel's records point at: <tunnel-id>.cfargotunnel.com."
  value       = local.cname_target
}

output "ingress" {
  description = "The tunnel's ingress rules in the order cloudflared applies them: {hostname, service}, the catch-all last (hostname null)."
  value = [
    for rule in cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress : {
      hostname = rule.hostname
      service  = rule.service
    }
  ]
}

output "records" {
  description = "The proxied CNAME records by host name: fqdn, type, content, proxied, ttl."
  value = {
    for h, r in cloudflare_dns_record.this : h => {
      fqdn    = r.name
      type    = r.type
      content = r.content
      proxied = r.proxied
      ttl     = r.ttl
    }
  }
}

output "token" {
  description = "The tunnel token cloudflared runs with (sensitive): `tofu output -raw tunnel_token` in the root module."
  value       = data.cloudflare_zero_trust_tunnel_cloudflared_token.this.token
  sensitive   = true
}
