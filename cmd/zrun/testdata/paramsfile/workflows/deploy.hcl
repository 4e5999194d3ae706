# Writes what it got to ran.txt; the token only as its length.
workflow "deploy" {
  param "version" { type = string }
  param "replicas" {
    type    = number
    default = 1
  }
  param "zones" {
    type    = list(string)
    default = []
  }
  param "fail" {
    type    = bool
    default = false
  }
  param "token" {
    type      = string
    sensitive = true
    default   = ""
  }

  step "write" {
    action = exec.run
    script = "echo \"${param.version} ${param.replicas} ${join(",", param.zones)} ${length(param.token)}\" >> ran.txt; echo token=${param.token}; test ${param.fail} = false"
  }

  output "token" {
    value     = param.token
    sensitive = true
  }
}
