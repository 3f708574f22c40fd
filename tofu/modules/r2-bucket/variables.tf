variable "account_id" {
  description = "Cloudflare account id that owns the bucket (32 hex characters)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.account_id))
    error_message = "account_id must be 32 lowercase hex characters."
  }
}

variable "name" {
  description = "Bucket name: 3-63 lowercase letters, digits or '-'."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
  }
}

variable "location" {
  description = "Location hint (apac, eeur, enam, weur, wnam, oc), or null for Cloudflare's choice. Only honoured when the bucket is first created."
  type        = string
  default     = null

  validation {
    condition     = var.location == null || contains(["apac", "eeur", "enam", "weur", "wnam", "oc"], coalesce(var.location, "-"))
    error_message = "location must be one of apac, eeur, enam, weur, wnam, oc (lowercase), or null."
  }
}

variable "storage_class" {
  description = "Default storage class of new objects: Standard or InfrequentAccess."
  type        = string
  default     = "Standard"

  validation {
    condition     = contains(["Standard", "InfrequentAccess"], var.storage_class)
    error_message = "storage_class must be Standard or InfrequentAccess."
  }
}

variable "jurisdiction" {
  description = "Jurisdiction the objects are stored in: default, eu or fedramp (eu and fedramp have their own S3 endpoint)."
  type        = string
  default     = "default"

  validation {
    condition     = contains(["default", "eu", "fedramp"], var.jurisdiction)
    error_message = "jurisdiction must be default, eu or fedramp."
  }
}

variable "abort_incomplete_uploads_after_days" {
  description = "Days after which an incomplete multipart upload is aborted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_uploads_after_days >= 1 && var.abort_incomplete_uploads_after_days <= 365 && floor(var.abort_incomplete_uploads_after_days) == var.abort_incomplete_uploads_after_days
    error_message = "abort_incomplete_uploads_after_days must be a whole number from 1 to 365."
  }
}
