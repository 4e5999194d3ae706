workflow "w" {
  step "zero" {
    action = exec.run
    retry {
      attempts = 0 # ERROR: Invalid retry attempts
      backoff  = 0.5 # ERROR: Invalid retry backoff
    }
  }
  step "missing" {
    action = exec.run
    retry { # ERROR: Missing required argument
      delay = "1s"
    }
  }
  step "fraction" {
    action = exec.run
    retry {
      attempts  = 1.5 # ERROR: Unsuitable value type
      delay     = "10s"
      max_delay = "1s" # ERROR: Invalid retry max_delay
    }
  }
  step "twice" {
    action = exec.run
    retry {
      attempts = 2
    }
    retry { # ERROR: Duplicate retry block
      attempts = 2
    }
  }
  step "huge" {
    action = exec.run
    retry {
      attempts  = 1000000 # ERROR: Invalid retry attempts
      delay     = "1000h" # ERROR: Invalid duration
      backoff   = 1e300 # ERROR: Invalid retry backoff
      max_delay = "9000000h" # ERROR: Invalid duration
    }
  }
  step "infinite" {
    action = exec.run
    retry {
      attempts = 3
      backoff  = 1e400 # ERROR: Unsuitable value type
    }
  }
}
