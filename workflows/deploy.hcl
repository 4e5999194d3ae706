# The deployment guide's `make deploy-*` (git pull; docker-compose pull;
# up -d; sleep 60; curl), done better: the image is built here and shipped
# to the environment's engine (piped, no registry; or through the
# environment's registry, pushed and pulled by digest); each container is
# replaced only when its spec changed, the new one started beside the old
# and checked healthy before the old one stops; a container that never gets
# healthy is removed and the old one keeps serving; then every service's
# /health is checked. A failed deploy puts back what it replaced. Where the
# environment says so (stage, prod), pending database migrations are applied
# first, after a backup.
#
# Zero downtime (env.proxy.enabled): the services nginx fronts
# (env.proxy.upstreams) listen on ports Docker picks; the new container
# starts beside the old one, and once it is healthy nginx's upstream moves
# to it (tested, reloaded, proven), the services are checked, and only then
# is the old one retired after a drain. No request fails on the way, and a
# failure moves the upstream back and reinstates the old container, which
# never stopped.
# The registry's password (a token: the guide's GITHUB_TOKEN for
# ghcr.io), read only by an environment whose docker.registry is enabled.
secret "registry_password" {
  env = "ZAKUPAI_REGISTRY_PASSWORD"
}

workflow "deploy" {
  description = "Build, ship and roll out the stack, health-gated"

  param "version" {
    type        = string
    default     = "dev"
    description = "The release's version: the image's tag and each service's VERSION."
  }

  param "ready_timeout" {
    type        = string
    default     = "60s"
    description = "How long a new container may take to become healthy."
  }

  # The example stack's one binary, static, for an image FROM scratch.
  step "binary" {
    action  = exec.run
    command = ["go", "build", "-trimpath", "-o", "app", "."]
    dir     = env.stack.context
    env     = { CGO_ENABLED = "0", GOWORK = "off" }
  }

  step "image" {
    action     = docker.build
    context    = env.stack.context
    tags       = ["${env.stack.image}:${param.version}"]
    labels     = { "zakupai.version" = param.version }
    depends_on = [step.binary]
  }

  # With a registry (env.docker.registry, as the guide's CI pushes to
  # ghcr.io): the image is pushed from here, and the environment's engine
  # pulls it; the pull must bring the very digest pushed.
  step "push" {
    when       = env.docker.registry.enabled
    action     = docker.push
    image      = "${env.stack.image}:${param.version}"
    auth       = { username = env.docker.registry.username, password = secret.registry_password }
    depends_on = [step.image]
  }

  step "pull" {
    when   = env.docker.registry.enabled
    action = docker.pull
    target = env.docker.target
    socket = env.docker.socket
    image  = "${env.stack.image}:${param.version}"
    policy = "always" # a tag may have moved
    auth   = { username = env.docker.registry.username, password = secret.registry_password }

    postcondition {
      condition     = self.digest == step.push.digest
      error_message = "The engine pulled another image than the one pushed (the tag moved in between): nothing was deployed."
    }
  }

  # Stage and prod without a registry: the image reaches the server's
  # engine through the run's SSH connection, as `docker save | ssh docker
  # load` would.
  step "save" {
    when       = env.docker.ship
    action     = docker.save
    images     = step.image.tags # by tag, so that the server has the tag too
    depends_on = [step.image]
  }

  step "load" {
    when   = env.docker.ship
    action = docker.load
    target = env.docker.target
    socket = env.docker.socket
    from   = step.save.stream
  }

  # Stage and prod: the database's pending migrations are applied before
  # the new containers start, after a backup (not drilled: the nightly
  # backup drills). The release records the level they leave.
  step "migrations" {
    when     = env.db.migrate_on_deploy
    action   = postgres.migrate
    apply    = false
    database = env.db.name
    dir      = env.db.migrations
  }

  step "backup" {
    when     = try(step.migrations.pending > 0, false)
    workflow = "backup"
    drill    = false
  }

  step "migrate" {
    when       = try(step.migrations.pending > 0, false)
    workflow   = "migrate"
    depends_on = [step.backup]
  }

  step "network" {
    action = docker.network
    target = env.docker.target
    socket = env.docker.socket
    name   = env.stack.network
  }

  step "service" {
    for_each   = { for name, c in env.containers : name => c if try(c.enabled, true) }
    action     = docker.container
    target     = env.docker.target
    socket     = env.docker.socket
    depends_on = [step.image, step.load, step.pull, step.network, step.migrate]

    name = "${env.stack.prefix}${each.key}"
    # The tag, not the build's image ID: the plan can then compare the
    # running container with what the tag names now (unchanged, or which
    # fields change), and the spec still records the exact image ID.
    image = "${env.stack.image}:${param.version}"
    # Every service reads the same variables, as the guide's env_file.
    env = merge(env.service_env, try(each.value.env, {}), {
      SERVICE            = each.key
      VERSION            = param.version
      DB_PASSWORD        = secret.db_password
      TELEGRAM_BOT_TOKEN = secret.telegram_bot_token
    })
    # Behind the proxy: a port Docker picks, and the old container serves
    # until the proxy has moved (step.route, step.retire).
    handover = env.proxy.enabled && contains(keys(env.proxy.upstreams), each.key)
    ports = (env.proxy.enabled && contains(keys(env.proxy.upstreams), each.key) ? ["${env.docker.bind}::8080"]
    : try(each.value.port, null) == null ? [] : ["${env.docker.bind}:${each.value.port}:8080"])
    networks           = { (env.stack.network) = [each.key] }
    restart            = env.restart
    memory             = try(each.value.memory, null)
    memory_reservation = try(each.value.memory_reservation, null)
    cpus               = try(each.value.cpus, null)
    cpu_shares         = try(each.value.cpu_shares, null)
    labels             = { "zakupai.version" = param.version }

    health_cmd      = ["CMD", "/app", "-check", "http://127.0.0.1:8080/health"]
    health_interval = "1s"
    health_timeout  = "2s"
    health_retries  = 3
    ready_timeout   = param.ready_timeout
  }

  # Behind the proxy the traffic moves to the new containers; then every
  # service's /health is checked, and the old containers are retired.
  step "cutover" {
    workflow   = "cutover"
    services   = step.service
    depends_on = [step.service]
  }

  # A deploy that failed puts back each container it had already replaced:
  # the exact container it replaced, kept on the engine for this.
  on_failure {
    step "rollback" {
      # A container whose step failed reads as null: it was not replaced.
      # (null when the services never ran: nothing to put back; the
      # cutover undoes a handover itself)
      for_each = try({ for name, s in step.service : name => s if try(s.action, "") == "replaced" && try(s.previous_address, "") == "" }, {})
      action   = docker.rollback
      target   = env.docker.target
      socket   = env.docker.socket

      name     = each.value.name
      image_id = each.value.previous_image_id
    }
  }

  output "services" {
    description = "Each container's name, image and what the deploy did to it."
    value = try({ for name, s in step.service : name => {
      container = try(s.name, null)
      image_id  = try(s.image_id, null)
      action    = try(s.action, "failed")
    } }, null)
  }
}
