################################################################################
# Cloudflare Tunnel (ingress.mode tunnel or both)
#
# A remotely managed tunnel, its ingress rules (every host name to Traefik's HTTPS entrypoint, a
# 404 for anything else) and a proxied CNAME per host name. cloudflared in the cluster
# (kubernetes/infrastructure/cloudflared) runs it with the token (output tunnel_token), kept in Git
# as a SOPS-encrypted Secret by `infra tunnel token`. In public mode var.tunnel is null and
# nothing here exists.
################################################################################

module "cloudflare_tunnel" {
  source = "./modules/cloudflare-tunnel"
  count  = var.tunnel == null ? 0 : 1

  account_id        = var.cloudflare_account_id
  zone_id           = data.cloudflare_zone.this.zone_id
  zone_name         = var.zone_name
  name              = var.tunnel.name
  hostnames         = var.tunnel.hostnames
  origin_service    = var.tunnel.origin_service
  origin_tls_verify = var.tunnel.origin_tls_verify
  comment           = "managed by OpenTofu (infra-k3s cluster ${var.cluster_name}, Cloudflare Tunnel ${var.tunnel.name}); edit cluster.yaml, not the dashboard"
}
