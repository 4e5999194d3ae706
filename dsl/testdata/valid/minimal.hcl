workflow "hello" {
  step "say" {
    action = exec.run
    cmd    = ["echo", "hello"]
  }
}
