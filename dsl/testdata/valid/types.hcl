workflow "types" {
  param "any" {}
  param "names" {
    type    = list(string)
    default = ["a", "b"]
  }
  param "limits" {
    type    = object({ cpu = number, mem = optional(string) })
    default = { cpu = 2 }
  }
  param "flag" {
    type    = bool
    default = "true"
  }
  param "nothing" {
    type    = map(string)
    default = null
  }
  step "noop" {
    action = exec.run
    retry {
      attempts = 1
    }
  }
}
