zrun {
  ledger {
    postgres = "" # ERROR: Empty ledger connection string
  }
  ledger { # ERROR: Duplicate ledger block
  }
}

workflow "w" {
  lock = "" # ERROR: Empty lock
}
