workflow "deploy" {
  param "version" {
    type = string
  }
  step "pull" {
    action = docker.pull
    image  = "app:${param.version}"
  }
  step "up" {
    action     = docker.run
    depends_on = [step.pull]
    for_each   = env.services
    name       = each.key
  }
}
