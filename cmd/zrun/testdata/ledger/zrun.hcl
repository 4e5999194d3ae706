zrun {
  project = "ledger-test"
}

secret "token" {
  env = "ZRUN_E2E_TOKEN"
}
