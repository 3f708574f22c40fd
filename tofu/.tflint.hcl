# tflint with its bundled Terraform ruleset only (no plugin downloads: `tflint --init` is never
# needed), every rule of it: standard module structure, typed and documented variables and
# outputs, naming, unused declarations, pinned required providers.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
