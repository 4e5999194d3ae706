# The guide's `make db-migrate` ran every SQL file every time. Here each
# numbered file of db.migrations is applied once, in order, each in its own
# transaction, and recorded with its checksum: an applied file that was
# edited is refused, a failing one is rolled back and named with its line.
# `zrun plan migrate` lists what would apply.
workflow "migrate" {
  description = "Apply the stack's pending database migrations, each once"

  step "ready" {
    action   = postgres.ready
    database = env.db.name
  }

  step "migrate" {
    action     = postgres.migrate
    database   = env.db.name
    dir        = env.db.migrations
    depends_on = [step.ready]
  }

  output "level" {
    description = "The database's migration level: the highest applied file's number."
    value       = step.migrate.level
  }
  output "applied" {
    value = step.migrate.applied
  }
}
