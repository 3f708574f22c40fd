# ingress.mode tunnel: the tunnel, its ingress rules and its proxied CNAMEs, planned against the real
# provider's schema with mocked API responses (no credentials, no network). The file's variables
# replace the example cluster's (-var-file) with what `infra configure` renders for a tunnel-mode
# cluster: no ingress node, so no `ingress` record; the default host name *.example.com.

mock_provider "cloudflare" {
  mock_data "cloudflare_zone" {
    defaults = {
      zone_id = "023e105f4ecef8ad9ca31a8372d0c353"
    }
  }

  mock_resource "cloudflare_zero_trust_tunnel_cloudflared" {
    defaults = {
      id = "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415"
    }
  }

  mock_data "cloudflare_zero_trust_tunnel_cloudflared_token" {
    defaults = {
      # Not a real token (and not shaped like one: the credential scan would rightly refuse that).
      token = "mock-token-not-a-tunnel-token"
    }
  }
}

variables {
  ingress_mode = "tunnel"
  dns_records = [
    { name = "k8s-api", type = "A", content = "100.100.10.1", proxied = false, ttl = 300 },
  ]
  tunnel = {
    name              = "infra-k3s-demo"
    hostnames         = ["*.example.com"]
    origin_service    = "https://traefik.kube-system.svc.cluster.local:443"
    origin_tls_verify = false
  }
}

run "creates_a_remotely_managed_tunnel" {
  command = plan

  assert {
    condition     = length(module.cloudflare_tunnel) == 1
    error_message = "Tunnel mode creates the tunnel module."
  }

  assert {
    condition     = module.cloudflare_tunnel[0].name == "infra-k3s-demo"
    error_message = "The tunnel carries the rendered name."
  }

  assert {
    condition     = output.tunnel_id == "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415"
    error_message = "tunnel_id is the tunnel's UUID."
  }

  assert {
    condition     = output.tunnel_cname_target == "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415.cfargotunnel.com"
    error_message = "The records point at <tunnel-id>.cfargotunnel.com."
  }
}

run "routes_every_name_to_traefik_https_and_ends_with_a_catch_all" {
  command = plan

  # Compared field by field: a literal null has no type, and == with it would stay unknown.
  assert {
    condition = (
      length(output.tunnel_ingress) == 2 &&
      output.tunnel_ingress[0].hostname == "*.example.com" &&
      output.tunnel_ingress[0].service == "https://traefik.kube-system.svc.cluster.local:443" &&
      output.tunnel_ingress[1].hostname == null &&
      output.tunnel_ingress[1].service == "http_status:404"
    )
    error_message = "One rule per host name to Traefik's HTTPS port, then the 404 catch-all."
  }
}

run "publishes_a_proxied_wildcard_cname_with_automatic_ttl" {
  command = plan

  assert {
    condition = output.tunnel_records["*.example.com"] == {
      fqdn    = "*.example.com"
      type    = "CNAME"
      content = "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415.cfargotunnel.com"
      proxied = true
      ttl     = 1
    }
    error_message = "The wildcard is a proxied CNAME to the tunnel with ttl 1."
  }

  assert {
    condition     = output.dns_fqdns == tolist(["k8s-api.example.com"])
    error_message = "Without ingress nodes the DNS module publishes only k8s-api: no public address record."
  }
}
