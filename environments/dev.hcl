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
}
