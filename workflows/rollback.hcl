# The guide's scripts/rollback.sh (git checkout TAG; docker-compose build;
# up -d; sleep 30), done better: no rebuild and no checkout. Each container
# goes back to the exact image and spec it ran in an earlier release (the
# containers of the last releases are kept, stopped, on the engine),
# through the same health gate as a deploy, and behind the proxy with the
# same zero-downtime cutover. Every container is checked
# first: a release that cannot be restored is refused before anything
# stops.
workflow "rollback" {
  description = "Go back to an earlier release: its exact images and specs, health-gated"

  param "release" {
    type        = string
    default     = ""
    description = "The release to go back to, as `zrun releases` lists it (a run id); default: the one before the current state (rollbacks in a row keep going back)."
  }

  param "allow_database_ahead" {
    type        = bool
    default     = false
    description = "Roll back even when the database has migrations the release being gone back to did not have."
  }

  step "check" {
    for_each = { for name, c in env.containers : name => c if try(c.enabled, true) }
    action   = docker.rollback
    target   = env.docker.target
    socket   = env.docker.socket

    name     = "${env.stack.prefix}${each.key}"
    releases = run.releases
    release  = param.release
    check    = true
  }

  # A release older than the database's schema may not run against it:
  # refused, unless the operator says so, when the database is at a higher
  # migration level than the release being gone back to left it.
  step "database" {
    when       = env.db.migrate_on_deploy
    action     = postgres.migrate
    apply      = false
    database   = env.db.name
    dir        = env.db.migrations
    depends_on = [step.check]

    postcondition {
      condition = param.allow_database_ahead || alltrue([for r in run.releases :
        r.migration_level == null || self.level <= r.migration_level
      if contains([for c in step.check : c.release], r.id)])
      error_message = "The database is at migration ${self.level}, newer than the release rolled back to left it (${jsonencode({ for r in run.releases : r.id => r.migration_level if contains([for c in step.check : c.release], r.id) })}): its code may not run against this schema. Restore the database from the backup the deploy took first (zrun workflow restore), or pass --param allow_database_ahead=true to roll the services back anyway."
    }
  }

  step "service" {
    for_each   = { for name, c in env.containers : name => c if try(c.enabled, true) }
    action     = docker.rollback
    target     = env.docker.target
    socket     = env.docker.socket
    depends_on = [step.check, step.database]

    name     = "${env.stack.prefix}${each.key}"
    releases = run.releases
    release  = param.release
    # Behind the proxy, as a deploy: the current container serves until
    # the cutover has moved nginx to the one rolled back to.
    handover = env.proxy.enabled && contains(keys(env.proxy.upstreams), each.key)
  }

  step "cutover" {
    workflow   = "cutover"
    services   = step.service
    depends_on = [step.service]
  }
}
