secret "none" { # ERROR: Missing secret source
}

secret "two" {
  env  = "A"
  file = "b" # ERROR: Conflicting secret sources
}

secret "ref" {
  env = env.name # ERROR: Variables not allowed
}

secret "empty" {
  file = "" # ERROR: Invalid secret source
}

secret "bad_env" {
  env = "A=B" # ERROR: Invalid secret source
}

secret "dotenv_nokey" { # ERROR: Missing required argument
  dotenv = ".env"
}

secret "vault_nokey" { # ERROR: Missing required argument
  vault = "secret/data/x"
}

secret "env_key" {
  env = "A"
  key = "B" # ERROR: Unsupported argument
}

secret "empty_key" {
  vault = "secret/data/x"
  key   = "" # ERROR: Invalid secret key
}

secret "cmd_string" {
  command = "pass show x" # ERROR: Invalid secret command
}

secret "cmd_empty" {
  command = [] # ERROR: Invalid secret command
}

secret "cmd_blank" {
  command = ["", "x"] # ERROR: Invalid secret command
}

secret "unknown_arg" {
  env   = "A"
  value = "x" # ERROR: Unsupported argument
}

secret "dup" {
  env = "A"
}
secret "dup" { # ERROR: Duplicate secret
  env = "B"
}

secret "bad name" { # ERROR: Invalid secret name
  env = "A"
}

environment "e" {
  secret "x" {
    env = "A"
  }
  secret "x" { # ERROR: Duplicate secret
    env = "B"
  }
  secret "a" "b" { # ERROR: Invalid secret block
    env = "C"
  }
  secret "y" { # ERROR: Missing secret source
  }
}
