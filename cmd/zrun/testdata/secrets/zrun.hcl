# Secrets from the process environment and from a dotenv file, and a
# sensitive param, used in every place a value can go. The test gives the
# values and searches everything zrun writes for them.
zrun {
  project = "secrets-test"
}

secret "token" {
  env = "ZRUN_E2E_SECRET_TOKEN"
}

# A multi-line secret: a PEM-like key file, with a line too short to be
# masked where it is not alone.
secret "pem" {
  file = "key.pem"
}

environment "test" {
  description = "The test's own httptest server"
  server      = env("ZRUN_E2E_SERVER", "http://127.0.0.1:9")

  secret "db_password" {
    dotenv = ".env.test"
    key    = "DB_PASSWORD"
  }
}
