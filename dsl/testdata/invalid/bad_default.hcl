workflow "w" {
  param "n" {
    type    = number
    default = "many" # ERROR: Invalid default value for param
  }
  param "v" {
    default = param.n # ERROR: Variables not allowed
  }
}
