package engine

import (
	"math"
	"time"

	"github.com/zrun-dev/zrun/dsl"
)

// retryDelay is the wait before attempt n+1: delay * backoff^(n-1), capped
// by max_delay and by dsl.MaxDuration. It cannot overflow into a negative
// wait, whatever the attempt count and the backoff: the power is taken in
// floating point (+Inf at worst) and clamped before it becomes a Duration.
func retryDelay(r *dsl.Retry, n int) time.Duration {
	limit := dsl.MaxDuration
	if r.MaxDelay != nil && r.MaxDelay.Duration < limit {
		limit = r.MaxDelay.Duration
	}
	if r.Delay.Duration <= 0 {
		return 0
	}
	backoff := r.Backoff
	if !(backoff >= 1) { // NaN too
		backoff = 1
	}
	d := float64(r.Delay.Duration) * math.Pow(backoff, float64(max(n-1, 0)))
	if !(d <= float64(limit)) { // +Inf too
		return limit
	}
	return time.Duration(d)
}
