# Each step counts its runs in a file, so a test can tell what ran again.

# step.deploy fails until the file "fixed" exists; its endings count too.
workflow "ending" {
  step "build" {
    action = exec.run
    script = "echo build >> build.count"
  }
  step "deploy" {
    action     = exec.run
    script     = "echo deploy >> deploy.count; test -f fixed"
    depends_on = [step.build]
  }
  on_failure {
    step "rollback" {
      action = exec.run
      script = "echo rollback >> rollback.count"
    }
  }
  finally {
    step "notify" {
      action = exec.run
      script = "echo notify >> notify.count"
    }
  }
}

# step.wait blocks until the file "go" exists: a test kills zrun there.
workflow "killable" {
  step "first" {
    action = exec.run
    script = "echo first >> first.count"
  }
  step "wait" {
    action     = exec.run
    script     = "while ! test -f go; do sleep 0.05; done; echo wait >> wait.count"
    depends_on = [step.first]
  }
}

# step.flaky fails twice, then succeeds.
workflow "retried" {
  step "flaky" {
    action = exec.run
    script = "echo x >> flaky.count; test $(wc -l < flaky.count) -ge 3"
    retry {
      attempts = 3
      delay    = "100ms"
    }
  }
}

# step.broken fails with an error of several lines.
workflow "multiline" {
  step "broken" {
    action = exec.run
    script = "printf 'first line\\nsecond line\\nthird line\\n' >&2; exit 3"
  }
}
