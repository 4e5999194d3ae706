# Secrets from the process environment and from a dotenv file, and a
# sensitive param, used in every place a value can go. The test gives the
# values and searches everything zrun writes for them.
zrun {
  project = "secrets-test"
}

secret "token" {
  env = "ZRUN_E2E_SECRET_TOKEN"
}

environment "test" {
  description = "The test's own httptest server"
  server      = env("ZRUN_E2E_SERVER", "http://127.0.0.1:9")

  secret "db_password" {
    dotenv = ".env.test"
    key    = "DB_PASSWORD"
  }
}
