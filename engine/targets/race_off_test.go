//go:build !race

package targets_test

// raceEnabled: the race detector slows SFTP and hashing several times.
const raceEnabled = false
