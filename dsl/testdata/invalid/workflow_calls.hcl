workflow "a" {
  step "call" {
    workflow = "b"
  }
}
workflow "b" {
  step "call" {
    workflow = "a" # ERROR: Workflow call cycle
  }
  step "missing" {
    workflow = "nope" # ERROR: Reference to undeclared workflow
  }
}
