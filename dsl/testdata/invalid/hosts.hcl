environment "prod" {
  host "a" {
    address    = "10.0.0.1"
    jump       = "b" # ERROR: Jump host cycle
    port       = 0 # ERROR: Invalid port
    passphrase = "hunter2" # ERROR: Invalid passphrase
  }
  host "b" {
    address = "10.0.0.2"
    jump    = "a"
    groups  = ["c", "web", "web"] # ERROR: Group name taken by a host # ERROR: Duplicate name in groups
  }
  host "c" {
    address    = "10.0.0.3"
    jump       = "bastoin" # ERROR: Unknown jump host
    passphrase = secret.nope # ERROR: Reference to undeclared secret
    user_name  = "root" # ERROR: Unsupported argument
  }
  host "d" {
    address = "10.0.0.4"
    jump    = "d" # ERROR: Jump host cycle
    groups  = ["local"] # ERROR: Reserved group name
  }
  group "a" { # ERROR: Group name taken by a host
    hosts = ["b"]
  }
  group "web" {
    hosts = ["b", "e"] # ERROR: Unknown host in group
    host  = "c" # ERROR: Unsupported argument
  }
  group "local" { # ERROR: Reserved group name
  }
}

environment "child" {
  extends = "prod"
  group "more" {
    hosts = ["zz"] # ERROR: Unknown host in group
  }
}

workflow "w" {
  step "no_target" {
    action   = exec.run
    parallel = 5 # ERROR: Fan-out without a target
  }
  step "with_for_each" {
    action     = exec.run
    for_each   = toset(["x"])
    target     = "web"
    batch_size = 2 # ERROR: Fan-out with for_each
  }
  step "bad_values" {
    action              = exec.run
    target              = "web"
    parallel            = 0 # ERROR: Invalid parallel
    batch_size          = "0%" # ERROR: Invalid batch_size
    max_failures        = 1
    max_fail_percentage = 101 # ERROR: Invalid max_fail_percentage # ERROR: Conflicting step arguments
  }
  step "bad_batch" {
    action     = exec.run
    target     = "web"
    batch_size = 1.5 # ERROR: Invalid batch_size
  }
  step "call" {
    workflow = "w2"
    target   = "web" # ERROR: Target on a workflow call
  }
}

workflow "w2" {}
