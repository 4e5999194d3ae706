# The guide's scripts/rollback.sh (git checkout TAG; docker-compose build;
# up -d; sleep 30), done better: no rebuild and no checkout. Each container
# goes back to the exact image and spec it ran in an earlier release (the
# containers of the last releases are kept, stopped, on the engine),
# through the same health gate as a deploy. Every container is checked
# first: a release that cannot be restored is refused before anything
# stops.
workflow "rollback" {
  description = "Go back to an earlier release: its exact images and specs, health-gated"

  param "release" {
    type        = string
    default     = ""
    description = "The release to go back to, as `zrun releases` lists it (a run id); default: the one before the current state (rollbacks in a row keep going back)."
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

  step "service" {
    for_each   = { for name, c in env.containers : name => c if try(c.enabled, true) }
    action     = docker.rollback
    target     = env.docker.target
    socket     = env.docker.socket
    depends_on = [step.check]

    name     = "${env.stack.prefix}${each.key}"
    releases = run.releases
    release  = param.release
  }

  step "health" {
    workflow   = "health-check"
    depends_on = [step.service]
    interval   = "1s"
  }
}
