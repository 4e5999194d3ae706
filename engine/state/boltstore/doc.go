// Package boltstore is the embedded run ledger: a state.Store in one bbolt
// file, by default <project>/.zrun/ledger.db, needing no server.
//
// # Why bbolt
//
// bbolt (go.etcd.io/bbolt) is pure Go, small, and ACID: a write
// transaction is fsynced before it returns, and a kill -9 at any moment
// leaves the file at the last committed transaction. Its data model
// (nested ordered buckets) fits the ledger directly: runs by id, a time
// index for newest-first listing, per-run buckets of step attempts and of
// log lines keyed by their Seq (the bucket's own sequence). The pure-Go
// SQLite (modernc.org/sqlite) would give WAL's concurrent readers, but it
// is a far larger dependency and slower to build, and the ledger's queries
// are all simple key ranges.
//
// # Several processes
//
// bbolt takes an exclusive flock on the file while a DB is open, so a
// Store does not keep it open: each call opens the file, runs one
// transaction and closes it, and the flock is held only for that (well
// under a millisecond for a read; one fsync for a write). Another zrun —
// `zrun logs --follow`, or a second run asking for a lock — gets its turn
// in between; a call waits for the file for up to Timeout (retrying every
// millisecond or so), then fails. Calls of one Store that overlap in time
// share the open file, and overlapping writes are committed together in
// one transaction (group commit), so parallel steps cost one fsync per
// batch rather than one each.
//
// Locks are records in a bucket of the same file, read and written in one
// write transaction, so two processes cannot both take a key.
//
// # Layout
//
//	runs/<id>                      JSON of state.Run
//	started/<unix nanos BE><id>    id, for newest-first listing
//	steps/<run id>/<addr>\x00<attempt BE>  JSON of a step attempt (with its first-record order)
//	logs/<run id>/<seq BE>         JSON of a log line
//	locks/<key>                    JSON of state.LockHolder
//
// Check verifies these invariants (every step and log bucket belongs to a
// run, every index entry names one); the crash test runs it after killing
// a writer many times.
//
// # Damage
//
// bbolt checksums only its meta pages and trusts the rest: a flipped byte
// elsewhere makes it panic or fault. Every call into bbolt is guarded
// (damage.go), a read that meets damage is answered by a reader of the
// raw file that checks every offset (rawfile.go), and a write that meets
// it salvages the file: every readable record copied into a new file, the
// damaged one kept aside (salvage.go).
package boltstore
