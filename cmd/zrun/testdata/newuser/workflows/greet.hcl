# Params of every kind for plan's "Run it with" line.
workflow "greet" {
  param "who" {
    type = string
  }
  param "token" {
    type      = string
    sensitive = true
  }

  step "hello" {
    action  = exec.run
    command = ["echo", "hello ${param.who}"]
  }
}
