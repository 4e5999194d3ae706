# Interrupted once while step.slow sleeps: step.after must not run, the
# finally step must.
workflow "once" {
  step "slow" {
    action  = exec.run
    command = ["sleep", "30"]
  }

  step "after" {
    action     = exec.run
    command    = ["touch", "after.marker"]
    depends_on = [step.slow]
  }

  finally {
    step "cleanup" {
      action  = exec.run
      command = ["touch", "finally.marker"]
    }
  }
}
