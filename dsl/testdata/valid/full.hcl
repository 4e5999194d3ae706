zrun {
  project = "zakupai"
  required_plugins {
    greet = { version = ">= 0.1.0, < 2.0.0" }
  }
}

environment "dev" {
  description = "Local machine"
  log_level   = "DEBUG"
  services = {
    gateway = { url = "http://localhost:8080" }
    calc    = { url = "http://localhost:8081" }
  }
}

environment "stage" {
  extends     = "dev"
  description = "Staging server"
  log_level   = "INFO"
  services    = { gateway = { url = "http://stage:8080" } }

  host "web" {
    address = "10.0.0.5"
    user    = "deploy"
    port    = 22
  }
}

workflow "health-check" {
  description = "Checks every service"
  timeout     = "5m"

  param "attempts" {
    type        = number
    default     = 6
    description = "How many times to try"
    sensitive   = false
  }

  param "token" {
    type      = string
    sensitive = true
  }

  step "migrate" {
    action = exec.run
    cmd    = ["true"]
  }

  step "gateway" {
    action            = http.check
    depends_on        = [step.migrate]
    when              = param.attempts > 0
    for_each          = env.services
    target            = env.hosts.web
    timeout           = "30s"
    continue_on_error = true
    retry {
      attempts  = 3
      delay     = "1s"
      backoff   = 2
      max_delay = "30s"
    }
    url = "${each.value.url}/health"
    header "Accept" {
      value = "application/json"
    }
  }

  step "backup" {
    workflow = "backup"
  }

  on_failure {
    step "rollback" {
      action = exec.run
      cmd    = ["echo", "rollback"]
    }
  }

  finally {
    step "notify" {
      action     = exec.run
      depends_on = [step.rollback]
      cmd        = ["echo", run.id]
    }
  }

  output "version" {
    value       = step.gateway["calc"].status
    description = "Status of calc"
    sensitive   = false
  }
}

workflow "backup" {
  param "target" {}
  step "dump" {
    action = exec.run
    cmd    = ["pg_dump", param.target]
  }
}
