# The deployment guide's scripts/health-check.sh, done better: all five
# services are checked at once, each retried until healthy or out of time,
# and the run says exactly which ones never came up.
workflow "health-check" {
  description = "Wait until every service answers /health"

  param "timeout" {
    type        = string
    default     = "30s"
    description = "How long each service may take to become healthy."
  }

  param "interval" {
    type        = string
    default     = "5s"
    description = "Pause between two checks of a service that is not ready."
  }

  param "urls" {
    type        = map(string)
    default     = {}
    description = "Base URLs that replace env.services' for some services, by name (the deploy checks the new containers behind the proxy at their own addresses)."
  }

  step "service" {
    action   = http.check
    for_each = env.services
    target   = env.docker.target # checked where the stack runs, as the guide's curl on the server

    urls     = { (each.key) = "${lookup(param.urls, each.key, each.value.url)}/health" }
    deadline = param.timeout
    interval = param.interval
  }

  output "healthy" {
    description = "Each service's health."
    value       = { for name, s in step.service : name => s.healthy[name] }
  }
}
