workflow "deploy" {
  param "version" {
    type = string
  }
  param "replicas" {
    type    = number
    default = 3
  }
  param "tags" {
    type    = list(string)
    default = ["a", "b"]
  }

  step "show" {
    action  = exec.run
    command = ["echo", param.version]
  }
}

workflow "backup" {
  step "dump" {
    action  = exec.run
    command = ["true"]
  }
}
