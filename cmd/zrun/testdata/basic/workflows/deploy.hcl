# A required param, and steps that leave a marker if they ever run.
workflow "deploy" {
  description = "Pretend to deploy"

  param "version" {
    type        = string
    description = "The version to deploy."
  }

  step "build" {
    action = exec.run
    script = "echo ${param.version} > built.marker"
  }

  step "ship" {
    action  = exec.run
    command = ["touch", "shipped.marker"]
    env     = { VERSION = step.build.stdout }
  }
}
