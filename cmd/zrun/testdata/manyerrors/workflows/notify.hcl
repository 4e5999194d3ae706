workflow "notify" {
  step "mail" {
    action = exec.run
    script = "mail"
  }
  step "unclosed" {
