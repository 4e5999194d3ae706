environment "e" {
  unset = env("ZRUN_SURELY_UNSET_VARIABLE") # ERROR: Error in function call
  ref   = param.x # ERROR: Variables not allowed
}
