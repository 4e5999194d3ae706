# Every problem here is independent of the others, and each is found in a
# different phase of validation: one `zrun validate` reports them all.
workflow "deploy" {
  step "build" {
    action = exec.rum
    script = "make"
  }
  step "test" {
    action = exec.run
    scirpt = "make test"
  }
  step "push" {
    action = exec.run
    script = "push ${param.version} to ${env.registry}"
  }
  step "notify" {
    workflow = "notfiy"
  }
  step "wait" {
    action  = exec.run
    script  = "sleep 1"
    timeout = "9999h"
  }
  step "migrate" {
    action = broken.migrate
  }
  step "seed" {
    action = broken.seed
  }
}
