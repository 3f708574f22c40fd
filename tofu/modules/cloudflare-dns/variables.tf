variable "zone_id" {
  description = "Id of the Cloudflare zone the records belong to."
  type        = string

  validation {
    condition     = length(var.zone_id) > 0
    error_message = "zone_id must not be empty."
  }
}

variable "zone_name" {
  description = "Name of the zone (e.g. example.com); record names are relative to it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.zone_name))
    error_message = "zone_name must be a lowercase domain name without a trailing dot."
  }
}

variable "records" {
  description = "Records: name relative to the zone (\"@\" for the apex), type, content, proxied, ttl (1 = automatic)."
  type = list(object({
    name    = string
    type    = string
    content = string
    proxied = bool
    ttl     = number
  }))

  validation {
    condition     = alltrue([for r in var.records : contains(["A", "AAAA", "CNAME", "TXT"], r.type)])
    error_message = "Every record type must be one of A, AAAA, CNAME, TXT."
  }

  validation {
    condition     = alltrue([for r in var.records : !strcontains(r.name, "*") && !endswith(r.name, ".")])
    error_message = "Record names are relative to the zone: no wildcard, no trailing dot."
  }

  validation {
    condition     = length(distinct([for r in var.records : "${r.name}/${r.type}/${r.content}"])) == length(var.records)
    error_message = "Two records have the same name, type and content."
  }
}

variable "comment" {
  description = "Comment stored on every record (shown in the Cloudflare dashboard)."
  type        = string
  default     = "managed by OpenTofu"
}

variable "excluded_fqdns" {
  description = "Fully qualified names served elsewhere (the Cloudflare Tunnel's exact host names): no A, AAAA or CNAME record is published for them here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.excluded_fqdns : !strcontains(n, "*") && !endswith(n, ".")])
    error_message = "excluded_fqdns are exact fully qualified names: no wildcard, no trailing dot."
  }
}
