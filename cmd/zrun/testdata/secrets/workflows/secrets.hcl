# Every step proves it got the real value (by printing a digest of it or
# by the test server checking it) while zrun must never write the value.
workflow "use" {
  param "api_key" {
    type      = string
    sensitive = true
  }

  # A secret as a command argument: the step prints its digest.
  step "argument" {
    action  = exec.run
    command = ["sh", "-c", "printf %s \"$1\" | sha256sum | cut -c1-16 | sed 's/^/argument digest /'", "sh", secret.token]
  }

  # A script that prints every value to stdout and stderr.
  step "print" {
    action = exec.run
    script = "echo token=${secret.token}; echo password=${secret.db_password} >&2; echo key=${param.api_key}; echo both ${secret.token}${secret.db_password}"
  }

  # Secrets in conditions: the first runs, the second is skipped.
  step "when_true" {
    action = exec.run
    when   = substr(secret.token, 0, 4) == "tok-" && secret.db_password != ""
    script = "echo condition held"
  }
  step "when_false" {
    action = exec.run
    when   = secret.token == "not the token"
    script = "echo condition failed to hold"
  }

  # Secrets in headers and the body, to a server that checks them and
  # echoes them back in its answer.
  step "http" {
    action = http.request
    url    = "${env.server}/check"
    method = "POST"
    body   = param.api_key
    headers = {
      Authorization = "Bearer ${secret.token}"
      X-Db-Password = secret.db_password
    }
  }

  # A secret as a called workflow's param, which is not declared sensitive.
  step "call" {
    workflow = "inner"
    password = secret.db_password
  }

  output "auth" {
    value = "Bearer ${secret.token}"
  }
  output "echoed" {
    value = step.http.body
  }
  output "inner" {
    value = step.call.said
  }
  output "plain" {
    value = "nothing secret here"
  }
}

workflow "inner" {
  param "password" {
    type = string
  }

  step "use" {
    action = exec.run
    script = "printf %s '${param.password}' | sha256sum | cut -c1-16 | sed 's/^/inner digest /'; echo inner got ${param.password}"
  }

  output "said" {
    value = "inner had ${param.password}"
  }
}

# Secrets in error messages: each step fails with the values in its error.
workflow "fail" {
  param "api_key" {
    type      = string
    sensitive = true
  }

  step "exit" {
    action = exec.run
    script = "echo failing with ${secret.token} >&2; exit 3"
  }
  step "status" {
    action        = http.request
    url           = "${env.server}/check"
    method        = "POST"
    body          = param.api_key
    expect_status = [299]
    headers = {
      Authorization = "Bearer ${secret.token}"
      X-Db-Password = secret.db_password
    }
  }
}

# A secret and a sensitive param in an http.request URL and expect_body.
workflow "url" {
  param "api_key" {
    type      = string
    sensitive = true
  }

  step "param_only" {
    action = http.request
    url    = "${env.server}/check?key=${param.api_key}"
    method = "POST"
    body   = param.api_key
    headers = {
      Authorization = "Bearer ${secret.token}"
      X-Db-Password = secret.db_password
    }
  }
  step "query" {
    action      = http.request
    url         = "${env.server}/check?key=${param.api_key}&password=${secret.db_password}"
    method      = "POST"
    body        = param.api_key
    expect_body = secret.db_password
    headers = {
      Authorization = "Bearer ${secret.token}"
      X-Db-Password = secret.db_password
    }
  }
}

# Secrets in the error messages of functions, in a step argument and in a
# condition.
workflow "convert" {
  step "argument" {
    action      = exec.run
    command     = ["true"]
    expect_exit = [tonumber(secret.token)]
  }
  step "condition" {
    action  = exec.run
    command = ["true"]
    when    = tonumber(secret.db_password) > 0
  }
  # Values derived from a secret, which masking its text cannot catch.
  step "upper" {
    action      = exec.run
    command     = ["true"]
    expect_exit = [tonumber(upper(secret.token))]
  }
  step "substr" {
    action      = exec.run
    command     = ["true"]
    expect_exit = [tonumber(substr(secret.token, 4, 10))]
  }
}
