secret "db_password" {
  env = "ZAKUPAI_DB_PASSWORD"
}

secret "api_key" {
  file = "/run/secrets/api_key"
}

environment "dev" {
  secret "telegram_token" {
    dotenv = ".env.dev"
    key    = "TELEGRAM_BOT_TOKEN"
  }
}

environment "prod" {
  extends = "dev"

  secret "telegram_token" {
    dotenv = ".env.prod"
    key    = "TELEGRAM_BOT_TOKEN"
  }
  secret "openai_key" {
    command = ["pass", "show", "zakupai/${lower("OpenAI")}"]
  }
  secret "b2_key" {
    vault = format("secret/data/%s", "zakupai")
    key   = "b2_application_key"
  }
}

workflow "deploy" {
  step "migrate" {
    action   = exec.run
    cmd      = ["./migrate.sh"]
    env      = { DB_PASSWORD = secret.db_password }
  }
}
