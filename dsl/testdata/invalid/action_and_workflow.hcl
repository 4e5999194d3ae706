workflow "other" {}

workflow "w" {
  step "s" {
    action   = exec.run
    workflow = "other" # ERROR: Conflicting step arguments
  }
}
