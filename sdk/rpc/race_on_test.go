//go:build race

package rpc_test

// raceEnabled: the race detector slows the wire down several times.
const raceEnabled = true
