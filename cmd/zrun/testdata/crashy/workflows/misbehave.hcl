# One crashy action misbehaves, chosen by param.what; the cleanup steps
# must still run.
workflow "misbehave" {
  param "what" {
    type        = string
    description = "crash, panic or hang."
  }

  step "crash" {
    action  = crashy.crash
    when    = param.what == "crash"
    message = "from step.crash"
  }

  step "panic" {
    action  = crashy.panic
    when    = param.what == "panic"
    message = "from step.panic"
  }

  step "hang" {
    action  = crashy.hang
    when    = param.what == "hang"
    message = "from step.hang"
    timeout = "1s"
  }

  on_failure {
    step "cleanup" {
      action  = exec.run
      command = ["touch", "on_failure.marker"]
    }
  }

  finally {
    step "always" {
      action  = exec.run
      command = ["touch", "finally.marker"]
    }
  }
}
