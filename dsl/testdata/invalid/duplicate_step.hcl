workflow "w" {
  step "s" {
    action = exec.run
  }
  step "s" { # ERROR: Duplicate step
    action = exec.run
  }
  on_failure {
    step "s" { # ERROR: Duplicate step
      action = exec.run
    }
  }
  finally {
    step "s" { # ERROR: Duplicate step
      action = exec.run
    }
  }
}
