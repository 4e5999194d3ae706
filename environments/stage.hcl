# Staging: the test server, production-like settings with staging data.
environment "stage" {
  extends     = "dev"
  description = "Test server with the stage database"

  log_level  = "INFO"
  dev_mode   = false
  monitoring = { enabled = true, retention = "7d" }

  compose = {
    files   = ["docker-compose.yml", "docker-compose.override.stage.yml"]
    profile = "stage"
  }

  db = {
    host = "zakupai-db-stage"
    name = "zakupai_stage"
    user = "zakupai_stage"
  }

  backup = {
    enabled       = true
    schedule      = "0 2 * * *"
    rclone_remote = "backblaze_stage"
  }

  # The guide keeps stage's credentials in .env.stage on the server.
  secret "db_password" {
    dotenv = ".env.stage"
    key    = "DB_PASSWORD"
  }
  secret "telegram_bot_token" {
    dotenv = ".env.stage"
    key    = "TELEGRAM_BOT_TOKEN"
  }
}
