workflow "w" {
  step "one" {
    action = exec # ERROR: Invalid action address
  }
  step "three" {
    action = exec.run.now # ERROR: Invalid action address
  }
  step "quoted" {
    action = "exec.run" # ERROR: Invalid action address
  }
  step "index" {
    action = exec["run"] # ERROR: Invalid action address
  }
}
