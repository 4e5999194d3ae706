# The guide's backup/restore.sh (rclone copy; gunzip; docker-compose down;
# dropdb; createdb; psql < file; up -d) drops the live database before it
# knows the backup is good. Here nothing live is touched until the backup
# has proved itself: its manifest read, the stored object's hash checked,
# the dump restored into a new database beside the live one and its tables
# checked. Only then the swap: the services that hold connections stop,
# the live database is renamed <name>_pre_restore_<time> (in lower case,
# so psql needs no quotes; kept until an operator drops it), the new one
# takes its name, the services start and are health-checked. A failure before the swap leaves the live database
# as it was, serving; a failure after it swaps back.
workflow "restore" {
  description = "Restore the stack's database from a backup: verified, restored beside the live one, checked, then swapped"

  param "backup" {
    type        = string
    default     = "latest"
    description = "Which backup: latest; a day (2026-11-30: that day's newest); or a backup's time as in its name (20261130T020000Z)."
  }

  param "swap" {
    type        = bool
    default     = true
    description = "false: restore beside the live database and check it, then keep it (as <name>_restore_<run>) and change nothing else."
  }

  # The backups' manifests, newest last: an object without one is not a
  # backup.
  step "list" {
    action      = rclone.list
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = env.backup.path
    match       = "^${env.db.name}_${param.backup == "latest" ? "" : replace(param.backup, "-", "")}[0-9TZ]*\\.dump[.a-z]*\\.manifest\\.json$"

    precondition {
      condition     = param.backup == "latest" || can(regex("^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}T[0-9]{6}Z)$", param.backup))
      error_message = "backup is \"latest\", a day (2026-11-30) or a backup's time (20261130T020000Z), not \"${param.backup}\"."
    }
    postcondition {
      condition     = length(self.objects) > 0
      error_message = "No backup of ${env.db.name} matches \"${param.backup}\" in ${env.backup.path}: `zrun workflow backup --env ${run.env}` makes one."
    }
  }

  step "manifest" {
    action      = rclone.read
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = step.list.objects[length(step.list.objects) - 1].path

    postcondition {
      condition     = try(jsondecode(self.content).version, 0) == 1 && try(jsondecode(self.content).database, "") == env.db.name
      error_message = "${step.list.objects[length(step.list.objects) - 1].path} is not a manifest of a backup of ${env.db.name} that this zrun reads."
    }
  }

  # Before anything else: the object is what the manifest says it is.
  step "verify" {
    action      = rclone.hash
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = jsondecode(step.manifest.content).object
    sha256      = jsondecode(step.manifest.content).sha256
    bytes       = jsondecode(step.manifest.content).bytes
  }

  step "scratch" {
    action     = postgres.create_database
    name       = "${env.db.name}_restore_${replace(lower(run.id), "-", "_")}"
    template   = "template0"
    depends_on = [step.verify]
  }

  step "fetch" {
    action      = rclone.download
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = jsondecode(step.manifest.content).object
    depends_on  = [step.verify]
  }

  step "unpack" {
    action      = archive.unpack
    from        = step.fetch.stream
    compression = jsondecode(step.manifest.content).compression
    identity    = secret.backup_identity
    sha256      = jsondecode(step.manifest.content).sha256
    bytes       = jsondecode(step.manifest.content).bytes
  }

  step "load" {
    action   = postgres.restore
    from     = step.unpack.stream
    database = step.scratch.name
    format   = jsondecode(step.manifest.content).format
  }

  step "check" {
    action     = postgres.info
    database   = step.scratch.name
    checksums  = false
    depends_on = [step.load]

    postcondition {
      condition     = try(jsondecode(step.manifest.content).tables, null) == null || length(self.tables) == jsondecode(step.manifest.content).tables
      error_message = "The restored database has ${length(self.tables)} tables; the backup's drill counted ${jsondecode(step.manifest.content).tables}."
    }
    postcondition {
      condition = alltrue([for name, min in env.backup.drill.tables :
      anytrue([for t in self.tables : t.name == name && t.rows >= min])])
      error_message = "The restored tables lack rows: want ${jsonencode(env.backup.drill.tables)} (table = minimum rows), got ${jsonencode({ for t in self.tables : t.name => t.rows })}."
    }
  }

  # The swap. The services holding connections stop first (all but the
  # database's own container).
  step "stop" {
    for_each   = { for name, c in env.containers : name => c if param.swap && try(c.enabled, true) && name != env.db.container }
    action     = docker.stop
    target     = env.docker.target
    socket     = env.docker.socket
    container  = "${env.stack.prefix}${each.key}"
    depends_on = [step.check]
  }

  step "terminate" {
    when       = param.swap
    action     = postgres.terminate
    database   = env.db.name
    depends_on = [step.stop]
  }

  step "retire" {
    when       = param.swap
    action     = postgres.rename_database
    from       = env.db.name
    to         = "${env.db.name}_pre_restore_${lower(formatdate("YYYYMMDD'T'hhmmss'Z'", run.started_at))}"
    depends_on = [step.terminate]
  }

  step "swap" {
    when       = param.swap
    action     = postgres.rename_database
    from       = step.scratch.name
    to         = env.db.name
    depends_on = [step.retire]
  }

  step "start" {
    for_each   = { for name, s in step.stop : name => s if s.changed }
    action     = docker.start
    target     = env.docker.target
    socket     = env.docker.socket
    container  = "${env.stack.prefix}${each.key}"
    depends_on = [step.swap]
  }

  step "health" {
    when       = param.swap && length(step.stop) > 0
    workflow   = "health-check"
    depends_on = [step.start]
    interval   = "1s"
  }

  on_failure {
    # After the swap: the restored database steps aside, the old one comes
    # back.
    step "unswap" {
      when   = try(step.swap.terminated, null) != null
      action = postgres.rename_database
      from   = env.db.name
      to     = "${env.db.name}_failed_restore_${lower(formatdate("YYYYMMDD'T'hhmmss'Z'", run.started_at))}"
    }
    step "unretire" {
      when       = try(step.retire.terminated, null) != null
      action     = postgres.rename_database
      from       = "${env.db.name}_pre_restore_${lower(formatdate("YYYYMMDD'T'hhmmss'Z'", run.started_at))}"
      to         = env.db.name
      depends_on = [step.unswap]
    }
    # Before the swap: the new database goes; the live one was not touched.
    step "discard" {
      when       = try(step.swap.terminated, null) == null
      action     = postgres.drop_database
      name       = "${env.db.name}_restore_${replace(lower(run.id), "-", "_")}"
      if_exists  = true
      depends_on = [step.unretire]
    }
    step "restart" {
      for_each   = try({ for name, s in step.stop : name => s if try(s.changed, false) }, {})
      action     = docker.start
      target     = env.docker.target
      socket     = env.docker.socket
      container  = "${env.stack.prefix}${each.key}"
      depends_on = [step.unretire]
    }
  }

  output "restored" {
    description = "The backup restored, and where the database it replaced went; null when nothing was."
    value = (param.swap ? try(step.swap.terminated, null) == null : try(step.check.size_bytes, null) == null) ? null : {
      object   = jsondecode(step.manifest.content).object
      time     = jsondecode(step.manifest.content).time
      database = param.swap ? env.db.name : step.scratch.name
      previous = param.swap ? "${env.db.name}_pre_restore_${lower(formatdate("YYYYMMDD'T'hhmmss'Z'", run.started_at))}" : null
    }
  }
}
