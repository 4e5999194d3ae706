# The deployment guide's firewall script (ufw --force reset; default deny
# incoming, allow outgoing; allow 22, 80, 443; 9090 and 3001 only from the
# admin network; ufw --force enable), done so that it cannot lock anyone
# out: no reset (the server is never wide open, nor SSH ever closed), only
# the rules that differ change, one by one; a rule set that would block
# zrun's own SSH connection is refused; and the change is confirmed by a new
# SSH login, the server putting the previous rules back by itself if that
# login fails or zrun dies (docs/ufw-plugin.md).
workflow "firewall" {
  description = "Make the server's ufw rules the guide's: deny incoming, allow SSH, HTTP, HTTPS, monitoring from the admin network"

  param "confirm_timeout" {
    type        = string
    default     = null
    description = "How long the server waits for zrun's new login before it puts the previous rules back (default: the environment's firewall.confirm_timeout)."
  }

  step "rules" {
    action = ufw.rules
    target = env.firewall.target
    # dev runs on the developer's own machine: its firewall is not zrun's.
    when = env.firewall.enabled

    defaults = { incoming = "deny", outgoing = "allow", routed = "deny" }
    logging  = env.firewall.logging
    rules = concat(
      [
        { action = "allow", port = env.firewall.ssh_port, proto = "tcp", comment = "SSH" },
        { action = "allow", port = 80, proto = "tcp", comment = "HTTP" },
        { action = "allow", port = 443, proto = "tcp", comment = "HTTPS" },
      ],
      [for net in env.firewall.admin_networks : { action = "allow", port = 9090, from = net, comment = "Prometheus (admin)" }],
      [for net in env.firewall.admin_networks : { action = "allow", port = 3001, from = net, comment = "Grafana (admin)" }],
    )
    confirm_timeout = coalesce(param.confirm_timeout, env.firewall.confirm_timeout)
  }

  output "changed" {
    description = "Whether any rule or policy changed."
    value       = try(step.rules.changed, false)
  }

  output "added" {
    description = "The rules added."
    value       = try(step.rules.added, [])
  }

  output "removed" {
    description = "The rules removed."
    value       = try(step.rules.removed, [])
  }
}
