//go:build race

package archive

// raceEnabled: the race detector slows compression many times over.
const raceEnabled = true

// sized is a test's data size under the race detector: an eighth, at
// least 4 MiB (still past zstd's window and unpack's holdback).
func sized(n int64) int64 { return max(n/8, 4<<20) }
