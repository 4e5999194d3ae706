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

  # The managed database, reached from the app server.
  db = {
    host = "zakupai-prod-db.cluster-xyz.us-west-2.rds.amazonaws.com"
    name = "zakupai_prod"
    user = "zakupai_prod"
  }

  # Nightly at 1, kept 30 days, not drilled on prod (stage drills the same
  # pipeline every night; `zrun workflow backup --env prod --param
  # drill=true` drills on demand).
  backup = {
    schedule       = "0 1 * * *"
    retention_days = 30
    remote         = env("ZAKUPAI_PROD_BACKUP_REMOTE", "backblaze_prod")
    path           = env("ZAKUPAI_PROD_BACKUP_PATH", "zakupai-backups/prod")
    recipients     = [env("ZAKUPAI_PROD_BACKUP_RECIPIENT", "age1rga4yuxjextkpn502t544vdyn89pe8f6whelmja2jmaf367r2uzs9ak8uj")] # the prod key's public half
    drill          = { enabled = false }
  }

  security = {
    ssl           = true
    cors_origins  = ["https://zakupai.site", "https://admin.zakupai.site"]
    trusted_hosts = ["zakupai.site", "api.zakupai.site"]
  }

  scaling = { worker_processes = 4, max_connections = 1000 }

  firewall = {
    admin_networks = [env("ZAKUPAI_PROD_ADMIN_NETWORK", "203.0.113.0/24")]
    logging        = "medium"
  }

  proxy = {
    web_domain = "zakupai.site"
    api_domain = "api.zakupai.site"
    drain      = "60s" # longer requests in production
  }

  host "app" {
    address          = env("ZAKUPAI_PROD_HOST", "zakupai.site")
    user             = env("ZAKUPAI_PROD_USER", "deploy")
    private_key_file = env("ZAKUPAI_PROD_KEY", "~/.ssh/zakupai_prod")
    known_hosts_file = env("ZAKUPAI_PROD_KNOWN_HOSTS", "~/.ssh/known_hosts")
  }

  service_env = {
    LOG_LEVEL            = "WARNING"
    STRUCTURED_LOGS      = "true"
    RATE_LIMIT_STRICT    = "true"
    DB_HOST              = "zakupai-prod-db.cluster-xyz.us-west-2.rds.amazonaws.com"
    DB_NAME              = "zakupai_prod"
    DB_USER              = "zakupai_prod"
    PROMETHEUS_RETENTION = "30d"
    ALERTMANAGER_ENABLED = "true"
    WORKER_PROCESSES     = "4"
    MAX_CONNECTIONS      = "1000"
  }

  # The guide's docker-compose.override.prod.yml: limits and reservations
  # (a CPU reservation is a relative weight for a plain engine: 0.25 of a
  # CPU = 256 shares).
  containers = {
    calc-service = {
      memory = "512M", cpus = 0.5, memory_reservation = "256M", cpu_shares = 256
      env    = { WORKERS = "4", MAX_CONNECTIONS = "100" }
    }
    risk-engine     = { memory = "1G", cpus = 1.0, env = { WORKERS = "4" } }
    doc-service     = { memory = "768M", cpus = 0.75, env = { WORKERS = "2" } }
    billing-service = { env = { PAYMENT_MODE = "production", KASPI_API_ENABLED = "true", STRIPE_API_ENABLED = "true" } }
    db              = { enabled = false, env = { POSTGRES_DB = "zakupai_prod" } } # the managed database
    prometheus      = { env = { PROMETHEUS_RETENTION_TIME = "30d" } }
  }

  # Production credentials come from the deploy machine's secret store, as
  # the guide's ${ZAKUPAI_DB_PASSWORD}-style variables.
  secret "db_password" {
    env = "ZAKUPAI_DB_PASSWORD"
  }
  secret "telegram_bot_token" {
    env = "TELEGRAM_PROD_TOKEN"
  }
  secret "backup_identity" {
    file = env("ZAKUPAI_PROD_BACKUP_IDENTITY", "~/.zakupai/backup-prod.agekey")
  }
}
