workflow "w" {
  step "s" { # ERROR: Missing step action
    cmd = ["true"]
  }
}
