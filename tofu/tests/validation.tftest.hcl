# Bad input is rejected by the variable validations, before anything reaches Cloudflare.
# Each run starts from the example cluster (-var-file) and breaks one thing.

mock_provider "cloudflare" {
  mock_data "cloudflare_zone" {
    defaults = {
      zone_id = "023e105f4ecef8ad9ca31a8372d0c353"
    }
  }
}

run "wildcard_name" {
  command = plan
  variables {
    dns_records = [{ name = "*", type = "A", content = "192.0.2.1", proxied = false, ttl = 300 }]
  }
  expect_failures = [var.dns_records]
}

run "fully_qualified_name" {
  command = plan
  variables {
    dns_records = [{ name = "k8s-api.example.com.", type = "A", content = "100.100.10.1", proxied = false, ttl = 300 }]
  }
  expect_failures = [var.dns_records]
}

run "name_shaped_like_an_external_dns_txt_record" {
  command = plan
  variables {
    dns_records = [{ name = "cname-app", type = "TXT", content = "heritage=external-dns", proxied = false, ttl = 300 }]
  }
  expect_failures = [var.dns_records]
}

run "unsupported_type" {
  command = plan
  variables {
    dns_records = [{ name = "mail", type = "MX", content = "mx.example.net", proxied = false, ttl = 300 }]
  }
  expect_failures = [var.dns_records]
}

run "proxied_record_with_a_ttl" {
  command = plan
  variables {
    dns_records = [{ name = "www", type = "A", content = "192.0.2.1", proxied = true, ttl = 300 }]
  }
  expect_failures = [var.dns_records]
}

run "ttl_out_of_range" {
  command = plan
  variables {
    dns_records = [{ name = "www", type = "A", content = "192.0.2.1", proxied = false, ttl = 30 }]
  }
  expect_failures = [var.dns_records]
}

run "a_record_with_an_ipv6_address" {
  command = plan
  variables {
    dns_records = [{ name = "k8s-api", type = "A", content = "2001:db8::1", proxied = false, ttl = 300 }]
  }
  expect_failures = [var.dns_records]
}

run "duplicate_record" {
  command = plan
  variables {
    dns_records = [
      { name = "k8s-api", type = "A", content = "100.100.10.1", proxied = false, ttl = 300 },
      { name = "k8s-api", type = "A", content = "100.100.10.1", proxied = false, ttl = 60 },
    ]
  }
  expect_failures = [var.dns_records]
}

run "cname_beside_another_record" {
  command = plan
  variables {
    dns_records = [
      { name = "status", type = "CNAME", content = "example.pages.dev", proxied = true, ttl = 1 },
      { name = "status", type = "TXT", content = "hello", proxied = false, ttl = 300 },
    ]
  }
  expect_failures = [var.dns_records]
}

run "proxied_cname_is_accepted" {
  command = plan
  variables {
    dns_records = [{ name = "status", type = "CNAME", content = "example.pages.dev", proxied = true, ttl = 1 }]
  }
  assert {
    condition     = module.dns.records["status/CNAME/example.pages.dev"].proxied == true
    error_message = "A proxied CNAME with ttl 1 is valid."
  }
}

run "apex_record" {
  command = plan
  variables {
    dns_records = [{ name = "@", type = "AAAA", content = "2001:db8::10", proxied = false, ttl = 1 }]
  }
  assert {
    condition     = module.dns.records["@/AAAA/2001:db8::10"].fqdn == "example.com"
    error_message = "\"@\" is the zone apex."
  }
}

run "bad_account_id" {
  command = plan
  variables {
    cloudflare_account_id = "not-an-account"
  }
  expect_failures = [var.cloudflare_account_id]
}

run "bad_zone_name" {
  command = plan
  variables {
    zone_name = "Example.COM."
  }
  expect_failures = [var.zone_name]
}

run "bad_cluster_name" {
  command = plan
  variables {
    cluster_name = "Demo_Cluster"
  }
  expect_failures = [var.cluster_name]
}

run "bad_bucket_location" {
  command = plan
  variables {
    r2_bucket = { name = "demo-backups", location = "europe", storage_class = "Standard", jurisdiction = "default" }
  }
  expect_failures = [var.r2_bucket]
}

run "bad_bucket_storage_class" {
  command = plan
  variables {
    r2_bucket = { name = "demo-backups", location = null, storage_class = "Glacier", jurisdiction = "default" }
  }
  expect_failures = [var.r2_bucket]
}

run "bad_bucket_jurisdiction" {
  command = plan
  variables {
    r2_bucket = { name = "demo-backups", location = null, storage_class = "Standard", jurisdiction = "us" }
  }
  expect_failures = [var.r2_bucket]
}

run "bad_bucket_name" {
  command = plan
  variables {
    r2_bucket = { name = "Demo_Backups", location = null, storage_class = "Standard", jurisdiction = "default" }
  }
  expect_failures = [var.r2_bucket]
}

run "abort_days_out_of_range" {
  command = plan
  variables {
    r2_abort_incomplete_uploads_after_days = 0
  }
  expect_failures = [var.r2_abort_incomplete_uploads_after_days]
}

run "token_that_is_not_a_token" {
  command = plan
  variables {
    cloudflare_api_token = "secret"
  }
  expect_failures = [var.cloudflare_api_token]
}
