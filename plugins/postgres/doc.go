// Package postgres is zrun's postgres plugin: a PostgreSQL server seen
// from a step's target.
//
// Everything but dumps and restores goes through github.com/jackc/pgx,
// whose connections are dialled through the target (sdk.Target.Dial): a
// database that listens only on a server's loopback or unix socket is
// reached over the run's SSH connection, without a tunnel or an open port.
// Host names are resolved by the target too, not by this process.
//
// Dumps and restores run the server's own client tools (pg_dump,
// pg_restore, psql) on the target through sdk.Target.Exec, streaming the
// dump through the step's pipes: postgres.dump writes its stream output
// as pg_dump writes, postgres.restore feeds its stream argument to the
// tool as it arrives; neither holds a dump in memory or in a temporary
// file. A password reaches the tools in a 0600 passfile written on the
// target (PGPASSFILE) and removed afterwards, never on a command line;
// every error the plugin returns has it masked.
//
// Migrations (postgres.migrate) are numbered SQL files applied in order,
// each once and in its own transaction, recorded with their sha256 in a
// table, under an advisory lock; migrate.go says how.
//
// The plugin leaves compression, encryption and storage of dumps to the
// steps its pipes connect to (the workflows in workflows/).
package postgres
