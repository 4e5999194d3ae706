package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
)

// logLevelFlag is --log-level: what plugins log (and zrun's own
// diagnostics) at or above it is shown, and a step's plugin lines are
// recorded with the step. Unset, it is $ZRUN_LOG, or warn: warnings and
// errors.
type logLevelFlag struct{ set hclog.Level }

func (f *logLevelFlag) String() string {
	if f.set == hclog.NoLevel {
		return ""
	}
	return f.set.String()
}

func (f *logLevelFlag) Set(s string) error {
	l := hclog.LevelFromString(s)
	if l == hclog.NoLevel || l == hclog.Off {
		return fmt.Errorf("%q is not a log level: use trace, debug, info, warn or error", s)
	}
	f.set = l
	return nil
}

func (f *logLevelFlag) Type() string { return "level" }

func (f *logLevelFlag) level() hclog.Level {
	if f.set != hclog.NoLevel {
		return f.set
	}
	if l := hclog.LevelFromString(os.Getenv("ZRUN_LOG")); l != hclog.NoLevel {
		return l
	}
	return hclog.Warn
}
