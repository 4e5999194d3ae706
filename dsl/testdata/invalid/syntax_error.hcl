workflow "w" {
  step "s" {
    action = exec.run
    cmd = [
      "a"
      "b" # ERROR: Missing item separator
    ]
  }
}
