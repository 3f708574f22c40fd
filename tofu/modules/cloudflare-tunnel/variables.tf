variable "account_id" {
  description = "Cloudflare account id (32 hex characters) that owns the tunnel."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.account_id))
    error_message = "account_id must be the 32 lowercase hex characters shown in the Cloudflare dashboard."
  }
}

variable "zone_id" {
  description = "Id of the Cloudflare zone that holds the tunnel's CNAME records."
  type        = string

  validation {
    condition     = length(var.zone_id) > 0
    error_message = "zone_id must not be empty."
  }
}

variable "zone_name" {
  description = "Name of the zone (e.g. example.com); every host name of the tunnel must be in it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.zone_name))
    error_message = "zone_name must be a lowercase domain name without a trailing dot."
  }
}

variable "name" {
  description = "Name of the tunnel in the account (letters, digits, '.', '_', '-'; at most 100 characters)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$", var.name))
    error_message = "name must be 1-100 letters, digits, '.', '_' or '-', starting and ending with a letter or digit."
  }
}

variable "hostnames" {
  description = <<-EOT
    The host names the tunnel serves, fully qualified: an exact name (app.example.com) or a wildcard
    for every name below one (*.example.com). Each gets a proxied CNAME to <tunnel-id>.cfargotunnel.com
    and an ingress rule to origin_service; exact names are matched before wildcards.
  EOT
  type        = list(string)

  validation {
    condition     = length(var.hostnames) > 0
    error_message = "hostnames must name at least one host: the tunnel would serve nothing."
  }

  validation {
    condition = alltrue([
      for h in var.hostnames :
      can(regex("^(\\*\\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", h))
    ])
    error_message = "Every hostname must be a lowercase fully qualified name, optionally starting with \"*.\" (a wildcard is the whole first label), without a trailing dot."
  }

  validation {
    condition     = length(distinct(var.hostnames)) == length(var.hostnames)
    error_message = "hostnames has a duplicate: list each host name once."
  }

  validation {
    condition = alltrue([
      for h in var.hostnames : trimprefix(h, "*.") == var.zone_name || endswith(trimprefix(h, "*."), ".${var.zone_name}")
    ])
    error_message = "Every hostname must be in the zone (zone_name): the tunnel's records are created there."
  }
}

variable "origin_service" {
  description = <<-EOT
    Where cloudflared sends every request: the in-cluster Traefik Service's HTTPS port,
    https://traefik.kube-system.svc.cluster.local:443. HTTPS, because Traefik's HTTP entrypoint
    redirects to HTTPS, which would loop for a request that already arrived over HTTPS.
  EOT
  type        = string
  default     = "https://traefik.kube-system.svc.cluster.local:443"

  validation {
    condition     = can(regex("^https?://[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$", var.origin_service))
    error_message = "origin_service must be http(s)://<host>:<port>, e.g. https://traefik.kube-system.svc.cluster.local:443."
  }
}

variable "origin_tls_verify" {
  description = <<-EOT
    Whether cloudflared verifies the origin's certificate, with the request's host name as SNI
    (match_sn_ito_host). True needs a publicly trusted certificate at the origin (Let's Encrypt
    production); false accepts any, e.g. Let's Encrypt staging.
  EOT
  type        = bool
  default     = true
}

variable "comment" {
  description = "Comment stored on every CNAME record (shown in the Cloudflare dashboard)."
  type        = string
  default     = "managed by OpenTofu (Cloudflare Tunnel)"
}
