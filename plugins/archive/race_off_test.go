//go:build !race

package archive

// raceEnabled: the race detector slows compression many times over.
const raceEnabled = false

// sized is a test's data size: as given without the race detector.
func sized(n int64) int64 { return n }
