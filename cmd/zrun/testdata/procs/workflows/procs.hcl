# Each workflow's step.spawn starts processes that try to outlive it, and
# writes their pids to the file pids: a background child, a grandchild, a
# setsid'd child, a double-fork daemon (new session, parent gone) and,
# with STUBBORN=1, a child that ignores SIGTERM. Then it prints "spawned"
# and runs param.then; the finally step runs param.finally.

workflow "hold" {
  param "then" {
    default = "sleep 60"
  }
  param "stubborn" {
    default = "0"
  }
  param "finally" {
    default = "true"
  }

  step "spawn" {
    action = exec.run
    env    = { STUBBORN = param.stubborn }
    script = <<-SH
      sleep 61 & echo $! >>pids
      sh -c 'sleep 62 & echo $! >>pids; wait' &
      setsid sleep 63 & echo $! >>pids
      ( setsid sh -c 'echo $$ >>pids; exec sleep 64' & ) </dev/null >/dev/null 2>&1
      want=4
      if [ "$STUBBORN" = 1 ]; then
        sh -c 'trap "" TERM; echo $$ >>pids; while :; do sleep 1; done' &
        want=5
      fi
      until [ "$(wc -l <pids)" -ge $want ]; do sleep 0.01; done
      echo spawned
      ${param.then}
    SH
  }

  finally {
    step "cleanup" {
      action = exec.run
      script = "touch finally.marker; ${param.finally}"
    }
  }
}

# step.spawn times out while its processes run.
workflow "timeout" {
  step "spawn" {
    action  = exec.run
    timeout = "1s"
    script  = <<-SH
      setsid sleep 63 & echo $! >>pids
      ( setsid sh -c 'echo $$ >>pids; exec sleep 64' & ) </dev/null >/dev/null 2>&1
      sleep 61 & echo $! >>pids
      until [ "$(wc -l <pids)" -ge 3 ]; do sleep 0.01; done
      sleep 60
    SH
  }
}

# step.spawn ends at once, leaving its processes behind, while step.next
# runs on.
workflow "linger" {
  step "spawn" {
    action = exec.run
    script = <<-SH
      sleep 61 & echo $! >>pids
      sh -c 'sleep 62 & echo $! >>pids; wait' &
      setsid sleep 63 & echo $! >>pids
      ( setsid sh -c 'echo $$ >>pids; exec sleep 64' & ) </dev/null >/dev/null 2>&1
      until [ "$(wc -l <pids)" -ge 4 ]; do sleep 0.01; done
    SH
  }

  step "next" {
    action     = exec.run
    command    = ["sleep", "8"]
    depends_on = [step.spawn]
  }
}

# step.slow runs long enough for its plugin to be stopped (SIGSTOP) under
# it; the finally step needs a plugin that answers. "stopped" has a
# timeout, "stopped_forever" none.
workflow "stopped" {
  step "slow" {
    action  = exec.run
    timeout = "2s"
    script  = "echo $$ >>pids; sleep 60"
  }

  finally {
    step "cleanup" {
      action  = exec.run
      command = ["touch", "finally.marker"]
    }
  }
}

workflow "stopped_forever" {
  step "slow" {
    action = exec.run
    script = "echo $$ >>pids; sleep 60"
  }

  finally {
    step "cleanup" {
      action  = exec.run
      command = ["sleep", "60"]
    }
  }
}
