# Production: only what differs from stage.
environment "prod" {
  extends     = "stage"
  description = "Cloud VPS with the managed production database"

  log_level  = "WARNING"
  monitoring = { retention = "30d", alertmanager = true }

  compose = {
    files   = ["docker-compose.yml", "docker-compose.override.prod.yml"]
    profile = "prod"
  }

  db = {
    host = "zakupai-prod-db.cluster-xyz.us-west-2.rds.amazonaws.com"
    name = "zakupai_prod"
    user = "zakupai_prod"
  }

  backup = {
    schedule       = "0 1 * * *"
    retention_days = 30
    rclone_remote  = "backblaze_prod"
  }

  security = {
    ssl           = true
    cors_origins  = ["https://zakupai.site", "https://admin.zakupai.site"]
    trusted_hosts = ["zakupai.site", "api.zakupai.site"]
  }

  scaling = { worker_processes = 4, max_connections = 1000 }

  # Production credentials come from the deploy machine's secret store, as
  # the guide's ${ZAKUPAI_DB_PASSWORD}-style variables.
  secret "db_password" {
    env = "ZAKUPAI_DB_PASSWORD"
  }
  secret "telegram_bot_token" {
    env = "TELEGRAM_PROD_TOKEN"
  }
}
