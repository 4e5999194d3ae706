package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// defaultReadyTimeout is how long postgres.ready waits by default.
const defaultReadyTimeout = 60 * time.Second

// readyRetry is the pause between two attempts of postgres.ready.
const readyRetry = 250 * time.Millisecond

type readyArgs struct {
	connArgs
	Database *string `zrun:"database" help:"The database to connect to. Default: \"postgres\"."`
	Wait     *string `zrun:"wait" help:"How long to wait for the server to accept connections, a Go duration. (Not timeout: that is the step's own meta-argument, which bounds the whole step.) Default: \"60s\"."`
}

type readyOutputs struct {
	ServerVersion    string `zrun:"server_version" help:"The server's version, e.g. \"15.8\"."`
	ServerVersionNum int    `zrun:"server_version_num" help:"The server's version as a number, e.g. 150008."`
}

func newReady() sdk.Action {
	return sdk.NewAction("ready",
		"Wait until the server accepts connections (and the database exists), up to wait.",
		runReady, sdk.WithValidate(validateReady), sdk.WithPlan(planReady))
}

func validateReady(_ context.Context, a readyArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	if a.Database != nil {
		diags = append(diags, validateName("database", *a.Database, known)...)
	}
	if known.Has("wait") {
		diags = append(diags, validateDuration("wait", a.Wait)...)
	}
	return diags
}

func planReady(_ context.Context, a readyArgs, _ sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("wait for PostgreSQL at %s%s", a.where(), fromTarget(target))}}, nil
}

func (a readyArgs) database() string {
	if a.Database == nil {
		return maintenanceDatabase
	}
	return *a.Database
}

func runReady(ctx context.Context, a readyArgs, ui sdk.UI) (readyOutputs, error) {
	timeout := defaultReadyTimeout
	if a.Wait != nil {
		timeout, _ = time.ParseDuration(*a.Wait)
	}
	start := time.Now()
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		conn, err := a.connect(wait, ui, a.database())
		if err == nil {
			defer closeConn(ctx, conn)
			v, num, err := serverVersion(wait, conn)
			if err != nil {
				return readyOutputs{}, a.redact(err)
			}
			ui.Logf("PostgreSQL %s at %s is ready (after %s, %d attempts)", v, a.where(), time.Since(start).Round(time.Millisecond), attempt)
			return readyOutputs{ServerVersion: v, ServerVersionNum: num}, nil
		}
		if permanent(err) {
			return readyOutputs{}, err
		}
		if attempt == 1 {
			ui.Logf("waiting for PostgreSQL at %s (up to %s)", a.where(), timeout)
		}
		select {
		case <-wait.Done():
			if ctx.Err() != nil {
				return readyOutputs{}, context.Cause(ctx)
			}
			return readyOutputs{}, fmt.Errorf("PostgreSQL at %s was not ready after %s (%d attempts); the last attempt: %w", a.where(), timeout, attempt, err)
		case <-time.After(readyRetry):
		}
	}
}

// permanent reports whether a failure to connect will not pass by
// waiting: the server answered, and refused these credentials or this
// database.
func permanent(err error) bool {
	pe, ok := pgError(err)
	if !ok {
		return false
	}
	switch pe.Code {
	case "28P01", "28000", "3D000": // invalid_password, invalid_authorization_specification, invalid_catalog_name
		return true
	}
	return errors.Is(err, context.Canceled)
}

// fromTarget says where a plan's connection starts: " from web1".
func fromTarget(target sdk.Target) string {
	if target == nil {
		return ""
	}
	return " from " + target.Name()
}
