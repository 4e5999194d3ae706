zrun {
  project = "console"
}

secret "token" {
  env = "ZRUN_E2E_CONSOLE_TOKEN"
}

# Leaves a marker each time it is read: the console reads a secret only
# for an expression that uses it.
secret "api_key" {
  command = ["sh", "-c", "echo read >> api-key-read; echo key-E2E-c0n5ole"]
}

secret "broken" {
  env = "ZRUN_E2E_CONSOLE_UNSET"
}
