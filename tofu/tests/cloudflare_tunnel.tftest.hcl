# modules/cloudflare-tunnel on its own: the resources it plans and every validation of its inputs.

mock_provider "cloudflare" {
  mock_resource "cloudflare_zero_trust_tunnel_cloudflared" {
    defaults = {
      id = "c1744f8b-faa1-48a4-9e5c-02ac921467fa"
    }
  }
}

variables {
  account_id = "0123456789abcdef0123456789abcdef"
  zone_id    = "023e105f4ecef8ad9ca31a8372d0c353"
  zone_name  = "example.com"
  name       = "infra-k3s-demo"
  hostnames  = ["app.example.com", "*.example.com"]
}

run "remotely_managed_tunnel_with_catch_all" {
  command = plan

  module {
    source = "./modules/cloudflare-tunnel"
  }

  assert {
    condition     = cloudflare_zero_trust_tunnel_cloudflared.this.config_src == "cloudflare"
    error_message = "The tunnel is remotely managed: its configuration lives in Cloudflare."
  }

  assert {
    condition     = cloudflare_zero_trust_tunnel_cloudflared.this.account_id == "0123456789abcdef0123456789abcdef"
    error_message = "The tunnel belongs to the given account."
  }

  assert {
    condition     = cloudflare_zero_trust_tunnel_cloudflared_config.this.tunnel_id == "c1744f8b-faa1-48a4-9e5c-02ac921467fa"
    error_message = "The configuration is the tunnel's."
  }

  assert {
    condition = (
      length(cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress) == 3 &&
      [for r in slice(cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress, 0, 2) : r.hostname] == ["app.example.com", "*.example.com"] &&
      cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress[2].hostname == null
    )
    error_message = "Rules: exact names, then wildcards, then the catch-all."
  }

  assert {
    condition     = cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress[2].service == "http_status:404"
    error_message = "The catch-all answers 404."
  }

  assert {
    condition = alltrue([
      for r in slice(cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress, 0, 2) :
      r.service == "https://traefik.kube-system.svc.cluster.local:443" && r.origin_request.match_sn_ito_host && !r.origin_request.no_tls_verify
    ])
    error_message = "Host names go to Traefik over HTTPS, SNI from the request's host, the certificate verified by default."
  }

  assert {
    condition = alltrue([
      for r in values(cloudflare_dns_record.this) :
      r.type == "CNAME" && r.proxied && r.ttl == 1 && r.content == "c1744f8b-faa1-48a4-9e5c-02ac921467fa.cfargotunnel.com"
    ])
    error_message = "Each host name is a proxied CNAME (ttl 1) to <tunnel-id>.cfargotunnel.com."
  }

  assert {
    condition     = toset([for r in values(cloudflare_dns_record.this) : r.name]) == toset(["app.example.com", "*.example.com"])
    error_message = "One record per host name."
  }
}

run "staging_certificate_is_not_verified" {
  command = plan

  module {
    source = "./modules/cloudflare-tunnel"
  }

  variables {
    origin_tls_verify = false
  }

  assert {
    condition     = alltrue([for r in slice(cloudflare_zero_trust_tunnel_cloudflared_config.this.config.ingress, 0, 2) : r.origin_request.no_tls_verify])
    error_message = "origin_tls_verify = false sets no_tls_verify on every rule."
  }
}

run "rejects_no_hostnames" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    hostnames = []
  }
  expect_failures = [var.hostnames]
}

run "rejects_a_hostname_outside_the_zone" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    hostnames = ["app.example.net"]
  }
  expect_failures = [var.hostnames]
}

run "rejects_a_wildcard_inside_a_label" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    hostnames = ["app*.example.com"]
  }
  expect_failures = [var.hostnames]
}

run "rejects_a_duplicate_hostname" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    hostnames = ["app.example.com", "app.example.com"]
  }
  expect_failures = [var.hostnames]
}

run "rejects_a_name_with_spaces" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    name = "my tunnel"
  }
  expect_failures = [var.name]
}

run "rejects_an_origin_without_a_port" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    origin_service = "https://traefik.kube-system.svc.cluster.local"
  }
  expect_failures = [var.origin_service]
}

run "rejects_a_bad_account" {
  command = plan
  module {
    source = "./modules/cloudflare-tunnel"
  }
  variables {
    account_id = "not-an-account"
  }
  expect_failures = [var.account_id]
}
