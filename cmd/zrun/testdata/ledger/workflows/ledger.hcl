# Counts its runs in files, so a test can tell which steps ran again.
workflow "flaky" {
  step "first" {
    action = exec.run
    script = "echo first >> first.count; echo first done"
  }
  step "second" {
    action     = exec.run
    script     = "echo second >> second.count; test -f fixed"
    depends_on = [step.first]
  }
  step "third" {
    action = exec.run
    script = "echo third >> third.count; echo got ${step.first.stdout}"
  }
}

workflow "slow" {
  step "wait" {
    action  = exec.run
    command = ["sleep", "30"]
  }
}

workflow "secretive" {
  step "leak" {
    action = exec.run
    script = "echo token=${secret.token}; echo ${secret.token} >&2; exit 1"
  }
}
