zrun {
  project = "team"
  ledger {
    postgres = "postgres://zrun@db.internal/zrun"
  }
}

workflow "backup" {
  lock = "backup"
}
