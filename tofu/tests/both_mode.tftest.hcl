# ingress.mode both: the tunnel serves two names, the ingress nodes the rest. A record of dns_records
# with an exact tunnel host name is left out by the DNS module (no record both ways); the
# configuration refuses that combination before it gets here (TUNNEL_HOSTNAME_CLAIMED), this proves
# the module's own guard.

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
}

variables {
  ingress_mode = "both"
  dns_records = [
    { name = "k8s-api", type = "A", content = "100.100.10.1", proxied = false, ttl = 300 },
    { name = "ingress", type = "A", content = "198.51.100.20", proxied = false, ttl = 300 },
    { name = "grafana", type = "A", content = "198.51.100.20", proxied = false, ttl = 300 },
    { name = "grafana", type = "TXT", content = "owner=ops", proxied = false, ttl = 300 },
  ]
  tunnel = {
    name              = "home-tunnel"
    hostnames         = ["*.internal.example.com", "grafana.example.com"]
    origin_service    = "https://traefik.kube-system.svc.cluster.local:443"
    origin_tls_verify = true
  }
}

run "exact_names_before_wildcards_and_origin_tls_verified" {
  command = plan

  assert {
    condition = (
      length(output.tunnel_ingress) == 3 &&
      [for r in slice(output.tunnel_ingress, 0, 2) : r.hostname] == ["grafana.example.com", "*.internal.example.com"] &&
      output.tunnel_ingress[2].hostname == null
    )
    error_message = "Exact names come before wildcards; the catch-all is last."
  }

  assert {
    condition = alltrue([
      for r in module.cloudflare_tunnel[0].ingress : r.hostname == null || r.service == "https://traefik.kube-system.svc.cluster.local:443"
    ])
    error_message = "Every host name goes to Traefik's HTTPS entrypoint."
  }

  assert {
    condition = alltrue([
      for rule in slice(module.cloudflare_tunnel[0].ingress, 0, 2) : rule.hostname != null
    ])
    error_message = "Both host names have a rule."
  }
}

run "no_record_both_ways" {
  command = plan

  assert {
    condition     = output.dns_excluded == tolist(["grafana/A/198.51.100.20"])
    error_message = "The A record named like a tunnel host name is left out; its TXT record stays."
  }

  assert {
    condition     = output.dns_fqdns == tolist(["grafana.example.com", "ingress.example.com", "k8s-api.example.com"])
    error_message = "The DNS module keeps ingress, k8s-api and the TXT record of grafana."
  }

  assert {
    condition     = [for k, r in module.dns.records : r.type if r.fqdn == "grafana.example.com"] == ["TXT"]
    error_message = "Only the TXT record remains at grafana.example.com in the DNS module."
  }

  assert {
    condition     = toset(keys(output.tunnel_records)) == toset(["*.internal.example.com", "grafana.example.com"])
    error_message = "The tunnel publishes one proxied CNAME per host name."
  }

  assert {
    condition     = alltrue([for r in values(output.tunnel_records) : r.proxied && r.ttl == 1 && r.type == "CNAME"])
    error_message = "Every tunnel record is a proxied CNAME with ttl 1."
  }
}

run "mode_and_tunnel_must_agree" {
  command = plan
  variables {
    ingress_mode = "public"
  }
  expect_failures = [var.tunnel]
}
