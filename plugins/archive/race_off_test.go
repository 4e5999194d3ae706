//go:build !race

package archive

// raceEnabled: the race detector slows compression many times over.
const raceEnabled = false
