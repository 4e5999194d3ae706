# A sensitive param that a failing step prints: the value must never show.
workflow "secret" {
  param "token" {
    type      = string
    sensitive = true
  }

  step "leak" {
    action = exec.run
    script = "echo token=${param.token}; echo err-token=${param.token} >&2; exit 1"
  }
}
