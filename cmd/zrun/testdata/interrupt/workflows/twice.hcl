# Interrupted once while step.slow sleeps, and again while the finally
# step sleeps: zrun must stop at once.
workflow "twice" {
  step "slow" {
    action  = exec.run
    command = ["sleep", "30"]
  }

  finally {
    step "slow_cleanup" {
      action  = exec.run
      command = ["sleep", "30"]
    }
  }
}
