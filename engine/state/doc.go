// Package state is the run ledger: every run, step attempt and output line
// zrun records, and the locks that keep two runs of one environment apart.
//
// A Store is the ledger's storage. Two implement it: an embedded one in a
// file under the project's .zrun/ (no server), and PostgreSQL, which a
// team shares. Both pass the same conformance suite (statetest). Writers
// are the engine's ledger sink; readers are `zrun runs`, `zrun show`,
// `zrun logs` and `zrun resume`. Nothing stored here holds a secret: the
// engine masks values before they reach a Store.
package state
