# The plan for the example cluster (cluster.example.yaml, rendered into tests/example-cluster.tfvars.json;
# run as `tofu test -var-file=tests/example-cluster.tfvars.json`), against the real provider's schema
# with mocked API responses: no credentials, no network.

mock_provider "cloudflare" {
  mock_data "cloudflare_zone" {
    defaults = {
      zone_id = "023e105f4ecef8ad9ca31a8372d0c353"
    }
  }
}

run "plans_the_cluster_records" {
  command = plan

  assert {
    condition     = length(module.dns.records) == 3
    error_message = "Expected three records: k8s-api and two ingress addresses."
  }

  assert {
    condition = module.dns.records["k8s-api/A/100.100.10.1"] == {
      fqdn = "k8s-api.example.com", type = "A", content = "100.100.10.1", proxied = false, ttl = 300
    }
    error_message = "k8s-api must be an A record to the first server's Tailscale address, not proxied."
  }

  assert {
    condition = [for k in ["ingress/A/198.51.100.20", "ingress/A/192.0.2.30"] : module.dns.records[k].fqdn] == [
      "ingress.example.com", "ingress.example.com"
    ]
    error_message = "ingress must have one A record per ingress node."
  }

  assert {
    condition     = alltrue([for r in values(module.dns.records) : r.proxied == false && r.type == "A"])
    error_message = "The example cluster's records are unproxied A records."
  }

  assert {
    condition     = output.dns_fqdns == tolist(["ingress.example.com", "k8s-api.example.com"])
    error_message = "OpenTofu must own exactly ingress and k8s-api."
  }
}

run "public_mode_has_no_tunnel" {
  command = plan

  assert {
    condition     = length(module.cloudflare_tunnel) == 0 && output.tunnel_id == null && output.tunnel_records == {}
    error_message = "The example cluster is in public mode: no tunnel, no tunnel records."
  }

  assert {
    condition     = length(output.dns_excluded) == 0
    error_message = "Public mode leaves every record of dns_records in place."
  }
}

run "plans_the_backup_bucket" {
  command = plan

  assert {
    condition     = output.r2_bucket_name == "demo-backups"
    error_message = "The bucket is cluster.yaml's backup.bucket.name."
  }

  assert {
    condition     = output.r2_s3_endpoint == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
    error_message = "The S3 endpoint of the default jurisdiction is https://<account>.r2.cloudflarestorage.com."
  }

  assert {
    condition     = length(output.r2_lifecycle_rules) == 1 && output.r2_lifecycle_rules[0].id == "abort-incomplete-multipart-uploads"
    error_message = "The bucket has exactly one lifecycle rule: abort incomplete multipart uploads."
  }

  assert {
    condition     = output.r2_lifecycle_rules[0].abort_multipart_uploads_transition.condition == { type = "Age", max_age = 604800 }
    error_message = "Incomplete multipart uploads are aborted after 7 days (604800 s)."
  }

  assert {
    condition = alltrue([
      for r in output.r2_lifecycle_rules : r.delete_objects_transition == null && r.storage_class_transitions == null
    ])
    error_message = "No lifecycle rule may delete or transition objects: Velero expires its own backups."
  }
}
