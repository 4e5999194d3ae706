# The zero-downtime half of a deploy or a rollback (called by both): the
# new containers of the services nginx fronts (env.proxy.upstreams) serve
# beside the old ones (docker handover), nginx's upstream of each moves to
# its new container (tested, reloaded, proven), every service is checked,
# and only then are the old containers retired, after a drain. A failure
# moves each upstream back and gives the old container, which never
# stopped, its name back. With the proxy off it is the health check alone.
workflow "cutover" {
  description = "Move the proxy to the new containers, check the services, retire the old ones"

  param "services" {
    type        = any
    description = "The docker.container (or docker.rollback) step's outputs, by service: name, address and previous_address are read."
  }

  # nginx runs (started with the environment's configuration if it does not).
  step "nginx" {
    when   = env.proxy.enabled
    action = nginx.ensure_running
  }

  step "route" {
    for_each   = { for name, s in param.services : name => s if env.proxy.enabled && contains(keys(env.proxy.upstreams), name) }
    depends_on = [step.nginx]
    action     = nginx.upstream
    path       = "${env.proxy.conf_dir}/${env.proxy.upstreams[each.key]}.upstream.conf"
    name       = replace(env.proxy.upstreams[each.key], "-", "_")
    servers    = [each.value.address]
  }

  # The guide's scripts/health-check.sh, against the published endpoints
  # and, behind the proxy, at the new containers.
  step "health" {
    workflow   = "health-check"
    depends_on = [step.route]
    interval   = "1s"
    urls       = { for name, s in step.route : name => "http://${s.servers[0]}" }
  }

  # The old containers nginx sends nothing to any more (route proved its
  # old workers gone) are retired.
  step "retire" {
    for_each   = { for name, s in param.services : name => s if try(s.previous_address, "") != "" }
    action     = docker.retire
    target     = env.docker.target
    socket     = env.docker.socket
    name       = each.value.name
    drain      = "0s"
    depends_on = [step.health]
  }

  on_failure {
    # Each old container not retired yet still serves: its upstream goes
    # back to it, then it takes its name back.
    step "unroute" {
      for_each = { for name, s in param.services : name => s if try(s.previous_address, "") != "" && try(step.retire[name].changed, null) == null }
      action   = nginx.upstream
      path     = "${env.proxy.conf_dir}/${env.proxy.upstreams[each.key]}.upstream.conf"
      name     = replace(env.proxy.upstreams[each.key], "-", "_")
      servers  = [each.value.previous_address]
    }

    step "reinstate" {
      for_each   = step.unroute
      action     = docker.reinstate
      target     = env.docker.target
      socket     = env.docker.socket
      name       = param.services[each.key].name
      depends_on = [step.unroute]
    }
  }
}
