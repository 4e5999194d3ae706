# Fails with an error of several lines, and skips what depends on it.
workflow "multiline" {
  step "fail" {
    action = exec.run
    script = "echo first >&2; echo second >&2; exit 1"
  }
  step "after" {
    action     = exec.run
    command    = ["true"]
    depends_on = [step.fail]
  }
}
