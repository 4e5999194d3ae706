workflow "w" {
  param "x" {}
  step "a" {
    action     = exec.run
    depends_on = [param.x] # ERROR: Invalid depends_on reference
  }
  step "b" {
    action     = exec.run
    depends_on = [step.a.out, "a"] # ERROR: Invalid depends_on reference # ERROR: Invalid depends_on reference
  }
  step "c" {
    action     = exec.run
    depends_on = [step.nope] # ERROR: Reference to undeclared step
  }
  step "d" {
    action     = exec.run
    depends_on = step.a # ERROR: Invalid expression
  }
}
