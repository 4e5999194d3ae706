//go:build !unix

package boltstore

import (
	"context"
	"time"
)

// Without flock there is no turn-taking: a waiting process gets in when
// the file happens to be closed.

func startWaiting(string) func()                          { return func() {} }
func othersWaiting(string) bool                           { return false }
func letWaitersIn(context.Context, string, time.Duration) {}
