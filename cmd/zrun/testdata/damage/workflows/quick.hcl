# Three quick steps, each printing a line: a test records a few runs of
# this, damages the ledger file, and runs it again.
workflow "quick" {
  step "one" {
    action = exec.run
    script = "echo one"
  }
  step "two" {
    action = exec.run
    script = "echo two; echo an error of two lines >&2"
  }
  step "three" {
    action     = exec.run
    script     = "echo three"
    depends_on = [step.one]
  }
}
