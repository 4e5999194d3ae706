// Package pgstore is the run ledger in PostgreSQL, for a team sharing one
// ledger (and its locks) across machines. It uses pgx with a connection
// pool.
//
// Open creates the tables if they are missing, under a versioned migration
// recorded in zrun_schema_version (serialised by an advisory lock, so
// several zrun starting at once migrate once). The tables live in the
// connection's search_path, so a DSN may put them in a schema of their own
// (search_path=zrun).
//
//	zrun_runs   one row per run; log_seq counts its log lines
//	zrun_steps  one row per (run, addr, attempt), ord its first-record order
//	zrun_logs   one row per line, keyed by (run_id, seq)
//	zrun_locks  one row per held lock key
//
// Log Seq comes from the run row's counter, bumped in the same statement
// that inserts the lines: the row lock orders writers, so Seqs are
// committed in increasing order and a follower reading Seq > n never
// misses a line committed later with a smaller Seq.
//
// Locks are rows, taken in a transaction (SELECT ... FOR UPDATE, then
// INSERT ... ON CONFLICT DO NOTHING or UPDATE), which holds across every
// machine sharing the database and needs no session kept open, unlike an
// advisory lock. A holder on this host whose process is gone is taken over
// as with the embedded store (state.HolderAlive).
//
// Tests run the statetest suite against the server named by the
// ZRUN_TEST_POSTGRES environment variable, each test in a fresh schema;
// CI-SETUP.md says how to start one.
package pgstore
