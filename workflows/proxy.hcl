# The deployment guide's nginx/prod.conf, copied by hand no more: the two
# TLS server blocks (the web UI on the main domain, the API gateway on
# api.), HTTP redirected to HTTPS, the API's `api` rate limit (60r/m, burst
# 10, nodelay). zrun writes the files atomically, runs nginx -t, reloads
# and checks that nginx took the new configuration; anything refused puts
# the previous files back and nginx keeps serving (docs/nginx-plugin.md).
# Running it again with nothing changed touches nothing.
#
# Each service sits behind an upstream of its own file, which the
# zero-downtime deploy rewrites (nginx.upstream) to move traffic to a new
# container; this workflow only creates those files (create_only), so it
# never moves traffic back to the environment's base ports after a deploy.

# The certificate and its key, read on the machine zrun runs on. An
# environment with its own declares secrets of the same names.
secret "tls_certificate" {
  file = env("ZAKUPAI_TLS_CERTIFICATE", "~/.zakupai/tls/zakupai.crt")
}

secret "tls_key" {
  file = env("ZAKUPAI_TLS_KEY", "~/.zakupai/tls/zakupai.key")
}

workflow "proxy" {
  description = "Put nginx with TLS, the HTTP redirect and the API rate limit in front of the services"

  # nginx itself, started with the environment's configuration unless its
  # master runs already.
  step "nginx" {
    when   = env.proxy.enabled
    action = nginx.ensure_running
  }

  # Each fronted service's upstream (env.proxy.upstreams), first at the
  # service's own port in env.containers.
  step "upstream" {
    for_each    = env.proxy.enabled ? env.proxy.upstreams : {}
    action      = nginx.upstream
    path        = "${env.proxy.conf_dir}/${each.value}.upstream.conf"
    name        = replace(each.value, "-", "_")
    servers     = ["127.0.0.1:${env.containers[each.key].port}"]
    keepalive   = 16
    create_only = true
    depends_on  = [step.nginx]
  }

  step "site" {
    when   = env.proxy.enabled
    action = nginx.site
    path   = "${env.proxy.conf_dir}/zakupai.conf"

    rate_limits = [{ name = "api", rate = "60r/m" }]

    # The web UI on the main domain, the API gateway on api. with the
    # guide's rate limit; the same TLS for both.
    servers = [for site in [
      { domain = env.proxy.web_domain, upstream = env.proxy.upstreams.web, rate_limit = null },
      { domain = env.proxy.api_domain, upstream = env.proxy.upstreams.gateway, rate_limit = { zone = "api", burst = 10, nodelay = true } },
      ] : {
      server_names    = [site.domain]
      listen          = [env.proxy.https_port]
      http2           = true
      redirect_http   = true
      redirect_listen = [env.proxy.http_port]
      tls = {
        certificate      = secret.tls_certificate
        key              = secret.tls_key
        certificate_path = "${env.proxy.conf_dir}/zakupai.crt"
        key_path         = "${env.proxy.conf_dir}/zakupai.key"
        protocols        = ["TLSv1.2", "TLSv1.3"]
        ciphers          = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"
      }
      extra = ["ssl_prefer_server_ciphers off"]
      locations = [{
        path       = "/"
        proxy_pass = "http://${replace(site.upstream, "-", "_")}"
        rate_limit = site.rate_limit
      }]
    }]

    depends_on = [step.upstream]
  }

  output "changed" {
    description = "Whether the site's files changed (and nginx was reloaded)."
    value       = try(step.site.changed, false)
  }
}
