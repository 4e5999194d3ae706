package engine

import (
	"math"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/dsl"
)

// TestRetryDelayNeverOverflows checks waits for attempt counts and
// backoffs far beyond what a configuration may give: a wait is never
// negative, never beyond its cap, and never shorter than the one before.
func TestRetryDelayNeverOverflows(t *testing.T) {
	maxDelay := &dsl.Duration{Duration: time.Hour}
	tests := map[string]struct {
		r    dsl.Retry
		want time.Duration // at the last attempt
	}{
		"huge backoff":           {dsl.Retry{Delay: dsl.Duration{Duration: time.Second}, Backoff: 1e300}, dsl.MaxDuration},
		"huge backoff capped":    {dsl.Retry{Delay: dsl.Duration{Duration: time.Second}, Backoff: 1e300, MaxDelay: maxDelay}, time.Hour},
		"infinite backoff":       {dsl.Retry{Delay: dsl.Duration{Duration: time.Second}, Backoff: math.Inf(1)}, dsl.MaxDuration},
		"NaN backoff":            {dsl.Retry{Delay: dsl.Duration{Duration: time.Second}, Backoff: math.NaN()}, time.Second},
		"backoff below one":      {dsl.Retry{Delay: dsl.Duration{Duration: time.Second}, Backoff: 0.001}, time.Second},
		"longest delay, doubled": {dsl.Retry{Delay: dsl.Duration{Duration: math.MaxInt64}, Backoff: 2}, dsl.MaxDuration},
		"zero delay":             {dsl.Retry{Delay: dsl.Duration{}, Backoff: math.Inf(1)}, 0},
		"constant":               {dsl.Retry{Delay: dsl.Duration{Duration: time.Minute}, Backoff: 1}, time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			prev := time.Duration(0)
			var got time.Duration
			for _, n := range []int{1, 2, 3, 10, 63, 64, 65, 1000, 1 << 20, math.MaxInt32, math.MaxInt} {
				got = retryDelay(&tc.r, n)
				if got < 0 || got > dsl.MaxDuration || got < prev && n > 1 {
					t.Fatalf("attempt %d: wait %s after %s", n, got, prev)
				}
				prev = got
			}
			if got != tc.want {
				t.Errorf("last wait %s, want %s", got, tc.want)
			}
		})
	}
}
