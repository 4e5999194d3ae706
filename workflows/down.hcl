# The guide's `docker-compose down`: stops and removes the stack's
# containers (volumes and the images stay, so a deploy can bring it back).
workflow "down" {
  description = "Stop and remove the stack's containers"

  step "service" {
    for_each = { for name, c in env.containers : name => c if try(c.enabled, true) }
    action   = docker.remove
    target   = env.docker.target
    socket   = env.docker.socket

    container = "${env.stack.prefix}${each.key}"
    force     = true
  }
}
