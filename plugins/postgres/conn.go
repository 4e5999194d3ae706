package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// Connection defaults, as libpq's tools have them.
const (
	defaultHost           = "127.0.0.1"
	defaultPort           = 5432
	defaultUser           = "postgres"
	defaultConnectTimeout = 10 * time.Second
	maintenanceDatabase   = "postgres"
)

// connArgs are the connection arguments every action takes (embedded in
// each action's arguments). The database is each action's own: what it
// means differs (the one queried, dumped, or administered).
type connArgs struct {
	Host           *string `zrun:"host" help:"The server's address as the target sees it: a host name or IP address, or an absolute path to the folder of its unix socket (\"/var/run/postgresql\"). Default: \"127.0.0.1\"."`
	Port           *int    `zrun:"port" help:"The server's port (also the number in a unix socket's name). Default: 5432."`
	User           *string `zrun:"user" help:"The role to connect as. Default: \"postgres\"."`
	Password       *string `zrun:"password,sensitive" help:"The role's password (password = secret.db_password). Never shown, logged or put on a command line: the client tools get it in a 0600 passfile removed afterwards. Default: none (peer or trust authentication)."`
	SSLMode        *string `zrun:"sslmode" help:"disable, allow, prefer, require, verify-ca or verify-full, as libpq has them. Default: \"prefer\"."`
	ConnectTimeout *string `zrun:"connect_timeout" help:"How long one connection attempt may take, a Go duration (\"10s\"). Default: \"10s\"."`
}

func (c connArgs) host() string {
	if c.Host == nil {
		return defaultHost
	}
	return *c.Host
}

func (c connArgs) port() int {
	if c.Port == nil {
		return defaultPort
	}
	return *c.Port
}

func (c connArgs) user() string {
	if c.User == nil {
		return defaultUser
	}
	return *c.User
}

func (c connArgs) password() string {
	if c.Password == nil {
		return ""
	}
	return *c.Password
}

func (c connArgs) sslmode() string {
	if c.SSLMode == nil {
		return "prefer"
	}
	return *c.SSLMode
}

// connectTimeout is the validated timeout (validate rejects bad ones).
func (c connArgs) connectTimeout() time.Duration {
	if c.ConnectTimeout == nil {
		return defaultConnectTimeout
	}
	d, err := time.ParseDuration(*c.ConnectTimeout)
	if err != nil || d <= 0 {
		return defaultConnectTimeout
	}
	return d
}

// where names the server in messages: "127.0.0.1:5432 as postgres".
func (c connArgs) where() string {
	if strings.HasPrefix(c.host(), "/") {
		return fmt.Sprintf("socket %s (port %d) as %s", c.host(), c.port(), c.user())
	}
	return fmt.Sprintf("%s as %s", net.JoinHostPort(c.host(), strconv.Itoa(c.port())), c.user())
}

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// validate checks the connection arguments that are known.
func (c connArgs) validate(known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if known.Has("host") && c.Host != nil && strings.TrimSpace(*c.Host) == "" {
		diags = diags.Errorf(cty.GetAttrPath("host"), "Empty host",
			`"host" is the server's address as the target sees it ("127.0.0.1", "db.internal") or its unix socket folder ("/var/run/postgresql"); leave it out for 127.0.0.1.`)
	}
	if known.Has("port") && c.Port != nil && (*c.Port < 1 || *c.Port > 65535) {
		diags = diags.Errorf(cty.GetAttrPath("port"), "Invalid port", fmt.Sprintf("A port is a number from 1 to 65535; got %d.", *c.Port))
	}
	if known.Has("user") && c.User != nil && *c.User == "" {
		diags = diags.Errorf(cty.GetAttrPath("user"), "Empty user", `"user" is the role to connect as; leave it out for "postgres".`)
	}
	if known.Has("sslmode") && c.SSLMode != nil && !slices.Contains(sslModes, *c.SSLMode) {
		diags = diags.Errorf(cty.GetAttrPath("sslmode"), "Invalid sslmode",
			fmt.Sprintf("sslmode is one of %s; got %q.", strings.Join(sslModes, ", "), *c.SSLMode))
	}
	if known.Has("connect_timeout") {
		diags = append(diags, validateDuration("connect_timeout", c.ConnectTimeout)...)
	}
	return diags
}

// validateDuration checks an optional positive Go duration argument.
func validateDuration(name string, s *string) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if s == nil {
		return nil
	}
	if d, err := time.ParseDuration(*s); err != nil || d <= 0 {
		return diags.Errorf(cty.GetAttrPath(name), "Invalid duration",
			fmt.Sprintf("%s is a positive Go duration such as \"10s\", \"2m\" or \"1h30m\"; got %q.", name, *s))
	}
	return nil
}

// validateName checks a required identifier argument (a database or role
// name): PostgreSQL takes up to 63 bytes, and no NUL.
func validateName(name string, value string, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has(name) {
		return nil
	}
	switch {
	case value == "":
		return diags.Errorf(cty.GetAttrPath(name), "Empty name", fmt.Sprintf("%q needs a database name, e.g. \"app\".", name))
	case len(value) > 63:
		return diags.Errorf(cty.GetAttrPath(name), "Name too long",
			fmt.Sprintf("PostgreSQL names are at most 63 bytes; %q is %d.", value, len(value)))
	case strings.ContainsRune(value, 0):
		return diags.Errorf(cty.GetAttrPath(name), "Invalid name", "A PostgreSQL name cannot hold a NUL character.")
	}
	return nil
}

// config is the pgx configuration for database, dialled through target.
func (c connArgs) config(target sdk.Target, database string) (*pgx.ConnConfig, error) {
	// The keyword/value form, so that nothing but these settings (and
	// libpq's PG* environment of this process, which pgx also reads) is
	// taken; the password is set after parsing, never in a string.
	dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s application_name=zrun",
		quoteValue(c.host()), c.port(), quoteValue(c.user()), quoteValue(database), c.sslmode())
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("connection settings for %s: %w", c.where(), err)
	}
	cfg.Password = c.password()
	cfg.ConnectTimeout = c.connectTimeout()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return target.Dial(ctx, network, addr)
	}
	// The target resolves names: a host known only to the server (its
	// /etc/hosts, a private DNS) must not be looked up here.
	lookup := func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	cfg.DialFunc, cfg.LookupFunc = dial, lookup
	return cfg, nil
}

// quoteValue quotes a keyword/value connection setting.
func quoteValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// connect opens a connection to database through the step's target.
func (c connArgs) connect(ctx context.Context, ui sdk.UI, database string) (*pgx.Conn, error) {
	return c.connectTarget(ctx, ui.Target(), database)
}

// connectTarget opens a connection to database through target.
func (c connArgs) connectTarget(ctx context.Context, target sdk.Target, database string) (*pgx.Conn, error) {
	if target == nil {
		return nil, errors.New("the host gave the step no target")
	}
	cfg, err := c.config(target, database)
	if err != nil {
		return nil, c.redact(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, c.redact(fmt.Errorf("connect to database %q at %s from %s: %w", database, c.where(), target.Name(), err))
	}
	return conn, nil
}

// closeConn closes conn within a bounded time, whatever ctx has become.
func closeConn(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// redact masks the password wherever it appears in err's message. pgx
// does not put it in its errors; this is the guard for every other path
// (a server error or a tool that quotes a value). A password shorter
// than minRedacted, or the same as the user or host name (postgres /
// postgres), is not masked: masking it would garble every message
// (a user name, a path) and hide nothing the arguments do not show.
func (c connArgs) redact(err error) error {
	pw := c.password()
	if err == nil || len(pw) < minRedacted || pw == c.user() || pw == c.host() || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), pw, "********"), err: err}
}

// minRedacted is the length of the shortest password redact masks.
const minRedacted = 4

// redactedError is an error whose message had the password masked. It
// still unwraps to the original (a *pgconn.PgError, say) for code that
// tells failures apart by type.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// serverVersion is the server's version as "15.8" and as its number
// (150008).
func serverVersion(ctx context.Context, conn *pgx.Conn) (string, int, error) {
	var v string
	var num int
	err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").Scan(&v, &num)
	if err != nil {
		return "", 0, fmt.Errorf("read the server's version: %w", err)
	}
	// "15.8 (Debian 15.8-1.pgdg120+1)": the version is the first word.
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	return v, num, nil
}

// quoteIdent quotes a name for SQL.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// pgError is err's server error, if it is one.
func pgError(err error) (*pgconn.PgError, bool) {
	var pe *pgconn.PgError
	ok := errors.As(err, &pe)
	return pe, ok
}
