workflow "w" {
  timeout = "5 minutes" # ERROR: Invalid duration
  step "s" {
    action  = exec.run
    timeout = "-1s" # ERROR: Invalid duration
  }
  step "long" {
    action  = exec.run
    timeout = "721h" # ERROR: Invalid duration
  }
  step "t" {
    action  = exec.run
    timeout = "0s" # ERROR: Invalid duration
  }
}
workflow "v" {
  param "t" {}
  step "s" {
    action  = exec.run
    timeout = param.t # ERROR: Variables not allowed
  }
}
