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

  # The stack's database as zrun reaches it: the client tools (pg_dump,
  # pg_restore) run on db.target, and connections are dialled from there.
  # On the developer's machine that is the local PostgreSQL; the services
  # themselves reach it as service_env's DB_HOST. ZAKUPAI_DB_* point it
  # elsewhere (the tests point it at their own server).
  db = {
    target     = "local"
    host       = env("ZAKUPAI_DB_HOST", "127.0.0.1")
    port       = tonumber(env("ZAKUPAI_DB_PORT", "5432"))
    name       = env("ZAKUPAI_DB_NAME", "zakupai_dev")
    user       = env("ZAKUPAI_DB_USER", "zakupai")
    container  = "db" # the stack's own database container: never stopped by a restore
    migrations = "testdata/stack/db/migrations"
    # Deploys apply pending migrations, after a backup (stage and prod).
    migrate_on_deploy = false
  }

  # The five endpoints the guide's health checks probe.
  services = {
    gateway = { url = "http://localhost:8080" }
    calc    = { url = "http://localhost:7001" }
    risk    = { url = "http://localhost:7002" }
    doc     = { url = "http://localhost:7003" }
    billing = { url = "http://localhost:7004" }
  }

  # Backups (workflows/backup.hcl, restore.hcl). Dev keeps them in a
  # local folder, encrypted to the dev key in testdata/stack (stage and prod
  # keep theirs off the repository).
  backup = {
    enabled        = true
    schedule       = null # on demand only; stage and prod are nightly
    remote         = { type = "local" }
    config_file    = null
    path           = env("ZAKUPAI_BACKUP_DIR", "/var/backups/zakupai-dev")
    compression    = "zstd"
    level          = "fastest" # a dump compresses nearly as well, at 1.5x the speed of "default"
    recipients     = ["age1rjdf2taz6z54va594765cjaj8n49vl8yfre86a30nldcl78fv44qnscfpd"]
    retention_days = 14
    keep_last      = 3 # never fewer, however old
    # The drill: a new backup restored into a scratch database and checked
    # before it counts (its tables, and rows in these).
    drill = {
      enabled    = true
      min_tables = 1
      tables     = { users = 1, tenders = 1 }
    }
    webhook = env("ZAKUPAI_BACKUP_WEBHOOK", "")
  }

  # Where the stack runs: the Docker Engine of this machine (DOCKER_HOST,
  # else /var/run/docker.sock). Stage and prod run it on a server over SSH,
  # and ship the image built here to it: piped (no registry), or through
  # their registry when it is enabled.
  docker = {
    target   = "local"
    socket   = null
    ship     = false
    bind     = "127.0.0.1" # published ports listen on loopback only
    registry = { enabled = false, username = "" }
  }

  # The server's firewall (workflows/firewall.hcl): the guide's ufw rules,
  # applied by the smallest difference and confirmed by a new SSH login.
  # dev runs on the developer's own machine: its firewall is not zrun's.
  firewall = {
    enabled         = false
    target          = "local"
    ssh_port        = 22
    admin_networks  = ["127.0.0.0/8"] # where Prometheus and Grafana may be reached from
    logging         = "low"
    confirm_timeout = "60s" # the previous rules come back by themselves past it
  }

  # nginx in front of the stack (workflows/proxy.hcl): the guide's two TLS
  # sites, and the zero-downtime deploy (workflows/cutover.hcl), which
  # moves the upstreams named here to each new container before the old
  # one stops. Off in dev unless ZAKUPAI_PROXY=1 (it needs a running nginx,
  # a service as on a server, whose main configuration includes conf_dir;
  # the tests and make demo run their own).
  proxy = {
    enabled    = env("ZAKUPAI_PROXY", "") == "1"
    target     = "local"
    sudo       = false
    nginx_conf = env("ZAKUPAI_NGINX_CONF", "/etc/nginx/nginx.conf")
    conf_dir   = env("ZAKUPAI_NGINX_CONF_DIR", "/etc/nginx/conf.d")
    web_domain = "zakupai.localhost"
    api_domain = "api.zakupai.localhost"
    https_port = tonumber(env("ZAKUPAI_HTTPS_PORT", "443"))
    http_port  = tonumber(env("ZAKUPAI_HTTP_PORT", "80"))
    # The services nginx fronts, and their upstreams (NAME.upstream.conf
    # in conf_dir, upstream NAME with _ for -).
    upstreams = { gateway = "zakupai-api", web = "zakupai-web" }
    # How long nginx's old workers may take to finish the requests they
    # hold for an old container after the reload (the cutover fails past it).
    drain = "30s"
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
  # The age key the dev backups are encrypted to (a dev key, like the
  # dev passwords above).
  secret "backup_identity" {
    file = "testdata/stack/backup-dev.agekey"
  }
}
