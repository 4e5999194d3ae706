environment "fn" {
  upper_name = upper("zrun")
  encoded    = base64encode("hi")
  merged     = merge({ a = 1 }, { b = 2 })
  home       = env("ZRUN_SURELY_UNSET_VARIABLE", "/nowhere")
  list       = [for s in ["a", "b"] : upper(s)]
}
