workflow "bad" {
  step "one" {
    action = exec.rum
    script = "echo one"
  }

  step "two" {
    action = exec.run
    script = "touch ran.marker"
    colour = "red"
  }

  step "three" {
    action = exec.run
    script = "echo ${param.nope}"
  }
}
