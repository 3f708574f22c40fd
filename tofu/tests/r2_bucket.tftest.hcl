# modules/r2-bucket on its own: the bucket's settings and its lifecycle rules.

mock_provider "cloudflare" {}

run "eu_bucket" {
  command = plan

  module {
    source = "./modules/r2-bucket"
  }

  variables {
    account_id                          = "0123456789abcdef0123456789abcdef"
    name                                = "velero-eu"
    location                            = "weur"
    storage_class                       = "InfrequentAccess"
    jurisdiction                        = "eu"
    abort_incomplete_uploads_after_days = 2
  }

  assert {
    condition = (
      cloudflare_r2_bucket.this.name == "velero-eu" &&
      cloudflare_r2_bucket.this.location == "weur" &&
      cloudflare_r2_bucket.this.storage_class == "InfrequentAccess" &&
      cloudflare_r2_bucket.this.jurisdiction == "eu"
    )
    error_message = "The bucket must carry the given name, location hint, storage class and jurisdiction."
  }

  assert {
    condition     = cloudflare_r2_bucket_lifecycle.this.jurisdiction == "eu" && cloudflare_r2_bucket_lifecycle.this.bucket_name == "velero-eu"
    error_message = "The lifecycle rules apply to the same bucket in the same jurisdiction."
  }

  assert {
    condition     = cloudflare_r2_bucket_lifecycle.this.rules[0].abort_multipart_uploads_transition.condition.max_age == 172800
    error_message = "abort_incomplete_uploads_after_days = 2 must become max_age = 172800 seconds."
  }

  assert {
    condition     = cloudflare_r2_bucket_lifecycle.this.rules[0].conditions.prefix == "" && cloudflare_r2_bucket_lifecycle.this.rules[0].enabled
    error_message = "The abort rule covers the whole bucket and is enabled."
  }

  assert {
    condition     = output.s3_endpoint == "https://0123456789abcdef0123456789abcdef.eu.r2.cloudflarestorage.com"
    error_message = "An EU bucket is served from https://<account>.eu.r2.cloudflarestorage.com."
  }
}

run "location_is_optional" {
  command = plan

  module {
    source = "./modules/r2-bucket"
  }

  variables {
    account_id = "0123456789abcdef0123456789abcdef"
    name       = "velero"
  }

  assert {
    condition     = cloudflare_r2_bucket.this.storage_class == "Standard" && cloudflare_r2_bucket.this.jurisdiction == "default"
    error_message = "Defaults: Standard storage class, default jurisdiction."
  }
}

run "rejects_an_unknown_location" {
  command = plan

  module {
    source = "./modules/r2-bucket"
  }

  variables {
    account_id = "0123456789abcdef0123456789abcdef"
    name       = "velero"
    location   = "WEUR"
  }

  expect_failures = [var.location]
}
