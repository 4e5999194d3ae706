workflow "deploy" {
  param "version" {
    type = string
  }

  step "pull" {
    action = exec.run
    script = "docker pull registry.local/app:${param.version}"
  }

  step "smoke" {
    action = http.check
    urls   = { gateway = env.gatway_url }
  }
}
