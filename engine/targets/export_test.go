package targets

// SetFlushEvery makes uploads flush every n bytes until the test ends.
func SetFlushEvery(cleanup func(func()), n int64) {
	old := flushEvery
	flushEvery = n
	cleanup(func() { flushEvery = old })
}

// Flushed is how many background flushes have been done so far.
func Flushed() int64 { return flushed.Load() }
