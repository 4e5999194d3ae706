# size bytes from one command into the next one's stdin, counted into
# the file count.
workflow "count" {
  param "size" { default = "1M" }
  step "dump" {
    action = exec.run
    script = "head -c ${param.size} /dev/zero"
  }
  step "load" {
    action = exec.run
    stdin  = step.dump.stream
    script = "wc -c > count"
  }
}

# The producer's target is a param: known when the run starts, so its
# stream is piped as a literal target's is.
workflow "param_target" {
  param "where" { default = "local" }
  step "dump" {
    action = exec.run
    target = param.where
    script = "head -c 1000 /dev/zero"
  }
  step "load" {
    action = exec.run
    stdin  = step.dump.stream
    script = "wc -c > count"
  }
}

# The producer dies halfway: the consumer copies what it got into a file
# and would succeed, but its step fails with the producer's error.
workflow "killed" {
  step "dump" {
    action = exec.run
    script = "head -c 1048576 /dev/zero; kill -9 $$"
  }
  step "load" {
    action = exec.run
    stdin  = step.dump.stream
    script = "cat > copy && echo done > finished"
  }
}

# The consumer fails at once: its producer, which would run for a minute,
# is cancelled.
workflow "refused" {
  step "dump" {
    action = exec.run
    script = "while :; do head -c 65536 /dev/zero; done"
  }
  step "load" {
    action = exec.run
    stdin  = step.dump.stream
    script = "head -c 10 >/dev/null; exit 3"
  }
}

# Three commands in a chain, the middle one both a consumer and a
# producer.
workflow "chain" {
  step "dump" {
    action = exec.run
    script = "printf 'a\\nb\\nc\\n'"
  }
  step "upper" {
    action  = exec.run
    stdin   = step.dump.stream
    command = ["tr", "a-z", "A-Z"]
  }
  step "load" {
    action = exec.run
    stdin  = step.upper.stream
    script = "cat > chained"
  }
}

workflow "invalid" {
  step "dump" {
    action = exec.run
    script = "echo hi"
  }
  step "a" {
    action = exec.run
    stdin  = step.dump.stream
    script = "cat"
  }
  step "b" {
    action = exec.run
    script = "echo ${step.dump.stream}"
  }
}
