# Development: everything on the developer's machine (local Docker), debug
# logs, no monitoring, no backups. Stage and prod extend this and override
# only what differs.
environment "dev" {
  description = "Local Docker on the developer's machine"

  log_level  = "DEBUG"
  dev_mode   = true
  monitoring = { enabled = false }

  compose = {
    files   = ["docker-compose.yml", "docker-compose.override.dev.yml"]
    profile = "dev"
  }

  db = {
    host = "zakupai-db"
    port = 5432
    name = "zakupai_dev"
    user = "zakupai"
  }

  # The five endpoints the guide's health checks probe.
  services = {
    gateway = { url = "http://localhost:8080" }
    calc    = { url = "http://localhost:7001" }
    risk    = { url = "http://localhost:7002" }
    doc     = { url = "http://localhost:7003" }
    billing = { url = "http://localhost:7004" }
  }

  backup = { enabled = false }

  # Where the stack runs: the Docker Engine of this machine (DOCKER_HOST,
  # else /var/run/docker.sock). Stage and prod run it on a server over SSH,
  # and ship the image built here to it (no registry).
  docker = {
    target = "local"
    socket = null
    ship   = false
    bind   = "127.0.0.1" # published ports listen on loopback only
  }

  # The example stack: one static Go server (testdata/stack/app) stands for
  # every service, built into one image FROM scratch.
  stack = {
    image   = "zakupai/app"
    context = "testdata/stack/app"
    network = "zakupai"
    prefix  = "zakupai-" # of every container's name
  }

  restart = "no"

  # Every service's environment (the guide's .env files); per-container
  # additions below.
  service_env = {
    LOG_LEVEL         = "DEBUG"
    DEV_MODE          = "true"
    ENABLE_CORS       = "true"
    ENABLE_DEBUG      = "true"
    ENABLE_MONITORING = "false"
    DB_HOST           = "zakupai-db"
    DB_PORT           = "5432"
    DB_NAME           = "zakupai_dev"
    DB_USER           = "zakupai"
  }

  # The containers of the stack, by service name. `port` is the host port
  # (null: none published); `enabled = false` leaves a container out of an
  # environment; memory, memory_reservation, cpus, cpu_shares and env are
  # optional.
  containers = {
    gateway         = { port = 8080 }
    calc-service    = { port = 7001 }
    risk-engine     = { port = 7002 }
    doc-service     = { port = 7003 }
    billing-service = { port = 7004, env = { PAYMENT_MODE = "test" } }
    bot             = { port = null, env = { BOT_MODE = "polling" } }
    web             = { port = 8082 }
    db              = { port = null, env = { POSTGRES_DB = "zakupai_dev" } }
  }

  # Dev credentials, as the guide keeps them in .env.dev.
  secret "db_password" {
    dotenv = "testdata/stack/.env.dev"
    key    = "DB_PASSWORD"
  }
  secret "telegram_bot_token" {
    dotenv = "testdata/stack/.env.dev"
    key    = "TELEGRAM_BOT_TOKEN"
  }
}
