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

  # The stage database runs on the server: the tools run there and connect
  # to its loopback (the db container publishes 5432 there).
  db = {
    target            = "app"
    host              = env("ZAKUPAI_STAGE_DB_HOST", "127.0.0.1")
    port              = tonumber(env("ZAKUPAI_STAGE_DB_PORT", "5432"))
    name              = "zakupai_stage"
    user              = "zakupai_stage"
    migrate_on_deploy = true
  }

  # Nightly at 2 (the guide's BACKUP_SCHEDULE), to the guide's Backblaze
  # remote in the operator's rclone.conf (RCLONE_CONFIG=backblaze_stage),
  # drilled every time, kept 14 days.
  backup = {
    schedule    = "0 2 * * *"
    remote      = env("ZAKUPAI_STAGE_BACKUP_REMOTE", "backblaze_stage")
    config_file = env("ZAKUPAI_STAGE_RCLONE_CONFIG", "~/.config/rclone/rclone.conf")
    path        = env("ZAKUPAI_STAGE_BACKUP_PATH", "zakupai-backups/stage")
    # The public half of the stage backup key (backup_identity below, on
    # the operator's machine only).
    recipients     = [env("ZAKUPAI_STAGE_BACKUP_RECIPIENT", "age1snz84nkpr3gj43h2ltktz87auzq5cqgunrkwat2z28rlpn88ggkqxpkph0")]
    retention_days = 14
  }

  # The stage server. ZAKUPAI_STAGE_* variables point a deploy elsewhere
  # (the tests point it at a stand-in server on this machine).
  host "app" {
    address          = env("ZAKUPAI_STAGE_HOST", "stage.zakupai.site")
    port             = tonumber(env("ZAKUPAI_STAGE_PORT", "22"))
    user             = env("ZAKUPAI_STAGE_USER", "deploy")
    private_key_file = env("ZAKUPAI_STAGE_KEY", "~/.ssh/zakupai_stage")
    known_hosts_file = env("ZAKUPAI_STAGE_KNOWN_HOSTS", "~/.ssh/known_hosts")
  }

  # The image built here is piped to the server's engine; or, with
  # ZAKUPAI_REGISTRY set (the guide's ghcr.io/OWNER), pushed to that
  # registry and pulled by the server, as ZAKUPAI_REGISTRY_USER with the
  # password (token) in ZAKUPAI_REGISTRY_PASSWORD.
  docker = {
    target   = "app"
    socket   = env("ZAKUPAI_STAGE_DOCKER_SOCKET", "/var/run/docker.sock")
    ship     = env("ZAKUPAI_REGISTRY", "") == ""
    bind     = "0.0.0.0"
    registry = { enabled = env("ZAKUPAI_REGISTRY", "") != "", username = env("ZAKUPAI_REGISTRY_USER", "") }
  }
  stack = {
    image = env("ZAKUPAI_REGISTRY", "") == "" ? "zakupai/app" : "${env("ZAKUPAI_REGISTRY")}/zakupai/app"
  }

  restart = "always"

  firewall = {
    enabled        = true
    target         = "app"
    admin_networks = [env("ZAKUPAI_STAGE_ADMIN_NETWORK", "203.0.113.0/24")]
  }

  # The server's nginx fronts the stack: deploys there have no downtime.
  proxy = {
    enabled    = true
    target     = "app"
    sudo       = true
    nginx_conf = "/etc/nginx/nginx.conf"
    conf_dir   = "/etc/nginx/conf.d"
    web_domain = "stage.zakupai.site"
    api_domain = "api.stage.zakupai.site"
    https_port = 443
    http_port  = 80
  }

  service_env = {
    LOG_LEVEL            = "INFO"
    DEV_MODE             = "false"
    ENABLE_CORS          = "false"
    ENABLE_DEBUG         = "false"
    ENABLE_MONITORING    = "true"
    DB_HOST              = "zakupai-db-stage"
    DB_NAME              = "zakupai_stage"
    DB_USER              = "zakupai_stage"
    PROMETHEUS_RETENTION = "7d"
  }

  containers = {
    calc-service    = { env = { RATE_LIMIT_ENABLED = "true" } }
    risk-engine     = { env = { RATE_LIMIT_ENABLED = "true" } }
    doc-service     = { env = { RATE_LIMIT_ENABLED = "true" } }
    billing-service = { env = { PAYMENT_MODE = "test" } }
    db              = { env = { POSTGRES_DB = "zakupai_stage" } }
    # Monitoring runs from stage up (the guide's stage profile).
    prometheus = { port = 9090, env = { PROMETHEUS_RETENTION_TIME = "7d" } }
    grafana    = { port = 3001, env = {} }
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
  # The key stage's backups are encrypted to, on the operator's machine.
  secret "backup_identity" {
    file = env("ZAKUPAI_STAGE_BACKUP_IDENTITY", "~/.zakupai/backup-stage.agekey")
  }
}
