################################################################################
# Cluster (rendered from cluster.yaml into cluster.auto.tfvars.json)
################################################################################

variable "cluster_name" {
  description = "Name of the cluster (cluster.yaml `name`), a DNS-1123 label. Used in record comments."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be a DNS-1123 label: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
  }
}

variable "cloudflare_account_id" {
  description = "Cloudflare account id (32 hex characters, from the dashboard; not a secret). Owns the R2 bucket."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.cloudflare_account_id))
    error_message = "cloudflare_account_id must be the 32 lowercase hex characters shown in the Cloudflare dashboard."
  }
}

variable "zone_name" {
  description = "The Cloudflare zone (domain) that holds the records, e.g. example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.zone_name))
    error_message = "zone_name must be a lowercase domain name without a trailing dot, e.g. example.com."
  }
}

variable "dns_records" {
  description = <<-EOT
    Records OpenTofu owns in the zone: name relative to the zone ("k8s-api", or "@" for the apex),
    type (A, AAAA, CNAME or TXT), content, proxied (through Cloudflare) and ttl in seconds (1 =
    automatic; proxied records use 1). Several records may share a name and type (one per address).
    Names must never be ones external-dns writes: no wildcards, and no names shaped like its TXT
    ownership records (a-..., aaaa-..., cname-..., txt-...).
  EOT
  type = list(object({
    name    = string
    type    = string
    content = string
    proxied = bool
    ttl     = number
  }))
  default = []

  validation {
    condition = alltrue([
      for r in var.dns_records :
      r.name == "@" || can(regex("^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9])?(\\.[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9])?)*$", r.name))
    ])
    error_message = "Every dns_records name must be \"@\" or lowercase DNS labels relative to the zone (e.g. \"k8s-api\"): no wildcard, no trailing dot."
  }

  validation {
    condition = alltrue([
      for r in var.dns_records : length(regexall("^(a|aaaa|cname|txt|mx|ns|srv|caa)-", r.name)) == 0
    ])
    error_message = "A dns_records name must not start with a-, aaaa-, cname-, txt-, mx-, ns-, srv- or caa-: external-dns names its TXT ownership records that way."
  }

  validation {
    condition     = alltrue([for r in var.dns_records : contains(["A", "AAAA", "CNAME", "TXT"], r.type)])
    error_message = "Every dns_records type must be one of A, AAAA, CNAME, TXT."
  }

  validation {
    condition     = alltrue([for r in var.dns_records : r.ttl == 1 || (r.ttl >= 60 && r.ttl <= 86400 && floor(r.ttl) == r.ttl)])
    error_message = "Every dns_records ttl must be 1 (automatic) or whole seconds from 60 to 86400."
  }

  validation {
    condition     = alltrue([for r in var.dns_records : !r.proxied || (r.ttl == 1 && contains(["A", "AAAA", "CNAME"], r.type))])
    error_message = "A proxied dns_records entry must be of type A, AAAA or CNAME and use ttl 1 (Cloudflare sets the TTL of proxied records)."
  }

  validation {
    condition = alltrue([
      for r in var.dns_records :
      r.type != "A" || (can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", r.content)) && can(cidrhost("${r.content}/32", 0)))
    ])
    error_message = "The content of an A record must be an IPv4 address."
  }

  validation {
    condition = alltrue([
      for r in var.dns_records :
      r.type != "AAAA" || (strcontains(r.content, ":") && can(cidrhost("${r.content}/128", 0)))
    ])
    error_message = "The content of an AAAA record must be an IPv6 address."
  }

  validation {
    condition     = length(distinct([for r in var.dns_records : "${r.name}/${r.type}/${r.content}"])) == length(var.dns_records)
    error_message = "dns_records has a duplicate: the same name, type and content appear twice."
  }

  validation {
    condition = alltrue([
      for c in var.dns_records : c.type != "CNAME" || length([for r in var.dns_records : r if r.name == c.name]) == 1
    ])
    error_message = "A CNAME record must be the only record of its name."
  }
}

variable "r2_bucket" {
  description = <<-EOT
    The R2 bucket for Velero backups and etcd snapshots: name (3-63 lowercase letters, digits, '-'),
    location hint (apac, eeur, enam, weur, wnam, oc or null for Cloudflare's choice; only honoured
    when the bucket is first created), storage_class (Standard or InfrequentAccess) and jurisdiction
    (default, eu or fedramp).
  EOT
  type = object({
    name          = string
    location      = optional(string)
    storage_class = optional(string, "Standard")
    jurisdiction  = optional(string, "default")
  })

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.r2_bucket.name))
    error_message = "r2_bucket.name must be 3-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
  }

  validation {
    condition     = var.r2_bucket.location == null || contains(["apac", "eeur", "enam", "weur", "wnam", "oc"], coalesce(var.r2_bucket.location, "-"))
    error_message = "r2_bucket.location must be one of apac, eeur, enam, weur, wnam, oc (lowercase), or null."
  }

  validation {
    condition     = contains(["Standard", "InfrequentAccess"], var.r2_bucket.storage_class)
    error_message = "r2_bucket.storage_class must be Standard or InfrequentAccess."
  }

  validation {
    condition     = contains(["default", "eu", "fedramp"], var.r2_bucket.jurisdiction)
    error_message = "r2_bucket.jurisdiction must be default, eu or fedramp."
  }
}

variable "ingress_mode" {
  description = "How HTTP(S) reaches the cluster (cluster.yaml ingress.mode): public (ingress nodes' addresses), tunnel (a Cloudflare Tunnel only) or both."
  type        = string
  default     = "public"

  validation {
    condition     = contains(["public", "tunnel", "both"], var.ingress_mode)
    error_message = "ingress_mode must be public, tunnel or both."
  }
}

variable "tunnel" {
  description = <<-EOT
    The Cloudflare Tunnel (null in public mode): name, hostnames (fully qualified names or
    *.wildcards in the zone), origin_service (Traefik's HTTPS Service port) and origin_tls_verify
    (verify the origin certificate; true needs Let's Encrypt production).
  EOT
  type = object({
    name              = string
    hostnames         = list(string)
    origin_service    = string
    origin_tls_verify = bool
  })
  default = null

  validation {
    condition     = (var.tunnel == null) == (var.ingress_mode == "public")
    error_message = "tunnel must be set exactly when ingress_mode is tunnel or both (and null in public mode); run `infra configure` to render both from cluster.yaml."
  }
}

################################################################################
# Settings with defaults
################################################################################

variable "r2_abort_incomplete_uploads_after_days" {
  description = "Days after which R2 aborts an incomplete multipart upload in the backup bucket. Objects themselves are never expired."
  type        = number
  default     = 7

  validation {
    condition     = var.r2_abort_incomplete_uploads_after_days >= 1 && var.r2_abort_incomplete_uploads_after_days <= 365 && floor(var.r2_abort_incomplete_uploads_after_days) == var.r2_abort_incomplete_uploads_after_days
    error_message = "r2_abort_incomplete_uploads_after_days must be a whole number of days from 1 to 365."
  }
}

################################################################################
# Credentials
################################################################################

variable "cloudflare_api_token" {
  description = <<-EOT
    Cloudflare API token (Zone:Read and DNS:Edit on the zone, Workers R2 Storage:Edit on the account).
    Leave it unset: the provider then reads CLOUDFLARE_API_TOKEN from the environment, which is
    what `infra dns` checks for. Never put it in a file in Git.
  EOT
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.cloudflare_api_token == null || can(regex("^[A-Za-z0-9_-]{40,}$", coalesce(var.cloudflare_api_token, "-")))
    error_message = "cloudflare_api_token must be a Cloudflare API token (40 or more letters, digits, '_' or '-'), or unset to use CLOUDFLARE_API_TOKEN."
  }
}
