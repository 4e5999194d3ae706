# The guide's scripts/db/backup.sh (pg_dump > file; gzip; rclone copy; find
# -mtime +14 -delete), done so that it cannot lose data: one streaming
# pipeline (pg_dump's custom format, zstd on every core, age encryption, the
# upload) with no temporary file anywhere; the stored object read back and
# its hash checked; on stage a drill that restores it into a scratch
# database and checks its tables; a manifest written last (an object without
# its manifest is not a backup); then retention. A run that fails leaves no
# manifest, and removes the object it uploaded.
workflow "backup" {
  description = "Dump, compress, encrypt and upload the stack's database; read it back, drill, prune"
  # Backups do not block deploys (still one backup per environment at once).
  lock = "backup"

  param "drill" {
    type        = bool
    default     = null
    description = "Restore the new backup into a scratch database and check it before it counts (default: the environment's backup.drill)."
  }

  # The database as the backup reads it: where the tools run (db.target)
  # and how it is reached from there.
  step "ready" {
    action   = postgres.ready
    database = env.db.name
  }

  step "dump" {
    action     = postgres.dump
    database   = env.db.name
    format     = "custom"
    depends_on = [step.ready]
  }

  step "pack" {
    action      = archive.pack
    from        = step.dump.stream
    compression = env.backup.compression
    level       = env.backup.level
    recipients  = env.backup.recipients
  }

  step "upload" {
    action      = rclone.upload
    from        = step.pack.stream
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = "${env.backup.path}/${env.db.name}_${formatdate("YYYYMMDD'T'hhmmss'Z'", run.started_at)}.dump${env.backup.compression == "zstd" ? ".zst" : env.backup.compression == "gzip" ? ".gz" : ""}${length(env.backup.recipients) > 0 ? ".age" : ""}"
  }

  # Read the object back from the remote: the backup counts only if what
  # is stored is what was packed.
  step "verify" {
    action      = rclone.hash
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = step.upload.path
    sha256      = step.pack.sha256
    bytes       = step.pack.bytes
  }

  # The drill: the stored backup restored into a scratch database, as a
  # restore would, and its tables checked.
  step "scratch" {
    when       = coalesce(param.drill, env.backup.drill.enabled)
    action     = postgres.create_database
    name       = "${env.db.name}_drill_${replace(lower(run.id), "-", "_")}"
    template   = "template0"
    depends_on = [step.verify]
  }

  step "fetch" {
    when        = coalesce(param.drill, env.backup.drill.enabled)
    action      = rclone.download
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = step.upload.path
    depends_on  = [step.verify]
  }

  step "unpack" {
    when        = coalesce(param.drill, env.backup.drill.enabled)
    action      = archive.unpack
    from        = step.fetch.stream
    compression = env.backup.compression
    identity    = secret.backup_identity
    sha256      = step.pack.sha256
    bytes       = step.pack.bytes
  }

  step "restore" {
    when     = coalesce(param.drill, env.backup.drill.enabled)
    action   = postgres.restore
    from     = step.unpack.stream
    database = step.scratch.name
  }

  step "check" {
    when       = coalesce(param.drill, env.backup.drill.enabled)
    action     = postgres.info
    database   = step.scratch.name
    checksums  = false
    depends_on = [step.restore]

    postcondition {
      condition     = length(self.tables) >= env.backup.drill.min_tables
      error_message = "The drill restored ${length(self.tables)} tables; at least ${env.backup.drill.min_tables} were expected."
    }
    postcondition {
      condition = alltrue([for name, min in env.backup.drill.tables :
      anytrue([for t in self.tables : t.name == name && t.rows >= min])])
      error_message = "The drill's restored tables lack rows: want ${jsonencode(env.backup.drill.tables)} (table = minimum rows), got ${jsonencode({ for t in self.tables : t.name => t.rows })}."
    }
  }

  # Written last: only now is the object a backup.
  step "manifest" {
    action      = rclone.write
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = "${step.upload.path}.manifest.json"
    depends_on  = [step.verify, step.check]
    content = jsonencode({
      version        = 1
      object         = step.upload.path
      format         = step.dump.format
      compression    = step.pack.compression
      encryption     = step.pack.encryption
      recipients     = step.pack.recipients
      bytes          = step.pack.bytes
      sha256         = step.pack.sha256
      raw_bytes      = step.pack.raw_bytes
      raw_sha256     = step.pack.raw_sha256
      database       = env.db.name
      server_version = step.dump.server_version
      run_id         = run.id
      environment    = run.env
      time           = run.started_at
      drilled        = coalesce(param.drill, env.backup.drill.enabled)
      tables         = try(length(step.check.tables), null)
    })
  }

  # The guide's `find -mtime +14 -delete`, on the remote, by the time in
  # each backup's name; a backup and its manifest go together.
  step "retention" {
    action      = rclone.retention
    remote      = env.backup.remote
    config_file = env.backup.config_file
    path        = env.backup.path
    match       = "^${env.db.name}_[0-9]{8}T[0-9]{6}Z\\.dump"
    time_format = "20060102T150405Z"
    companions  = [".manifest.json"]
    keep_within = "${env.backup.retention_days}d"
    keep_last   = env.backup.keep_last
    depends_on  = [step.manifest]
  }

  step "notify" {
    when       = env.backup.webhook != ""
    action     = http.request
    url        = env.backup.webhook
    method     = "POST"
    body       = jsonencode({ text = "backup of ${env.db.name} (${run.env}): ${step.upload.path}, ${step.pack.bytes} bytes, run ${run.id}" })
    depends_on = [step.retention]
  }

  on_failure {
    # Not a backup: no manifest was written; take the object away too.
    step "discard" {
      when        = try(step.upload.path, null) != null && try(step.manifest.bytes, null) == null
      action      = rclone.delete
      remote      = env.backup.remote
      config_file = env.backup.config_file
      path        = step.upload.path
      missing_ok  = true
    }
    step "alert" {
      when   = env.backup.webhook != ""
      action = http.request
      url    = env.backup.webhook
      method = "POST"
      body   = jsonencode({ text = "backup of ${env.db.name} (${run.env}) FAILED: run ${run.id}" })
    }
  }

  finally {
    step "drop_scratch" {
      when      = coalesce(param.drill, env.backup.drill.enabled)
      action    = postgres.drop_database
      name      = "${env.db.name}_drill_${replace(lower(run.id), "-", "_")}"
      if_exists = true
    }
  }

  output "backup" {
    description = "What the ledger keeps of the backup (its manifest has it all); null when there is none."
    value = try(step.manifest.bytes, null) == null ? null : {
      object   = step.upload.path
      manifest = "${step.upload.path}.manifest.json"
      bytes    = step.pack.bytes
      sha256   = step.pack.sha256
      drilled  = coalesce(param.drill, env.backup.drill.enabled)
    }
  }
}
