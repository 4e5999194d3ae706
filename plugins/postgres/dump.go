package postgres

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

// Dump formats, as pg_dump names them.
const (
	formatPlain     = "plain"
	formatCustom    = "custom"
	formatDirectory = "directory"
)

var dumpFormats = []string{formatPlain, formatCustom, formatDirectory}

// dumpTarget says where a dump goes or a restore comes from: the stream,
// or a directory on the target for the directory format.
type dumpTarget struct {
	Format *string `zrun:"format" help:"\"custom\" (pg_dump's archive: restored with pg_restore, selectively if need be), \"plain\" (SQL text, restored with psql) or \"directory\" (a folder on the target, dir, written and read by parallel jobs). Default: \"custom\"."`
	Dir    *string `zrun:"dir" help:"With format = \"directory\": the folder on the target (an absolute path). Required for that format, refused for the others."`
	Jobs   *int    `zrun:"jobs" help:"With format = \"directory\": how many tables to move at once. Default: 1."`
}

func (d dumpTarget) format() string {
	if d.Format == nil {
		return formatCustom
	}
	return *d.Format
}

func (d dumpTarget) jobs() int {
	if d.Jobs == nil {
		return 1
	}
	return *d.Jobs
}

func (d dumpTarget) validate(known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has("format") || !known.Has("dir") {
		return nil
	}
	f := d.format()
	if !slices.Contains(dumpFormats, f) {
		return diags.Errorf(cty.GetAttrPath("format"), "Invalid format",
			fmt.Sprintf("format is \"custom\", \"plain\" or \"directory\"; got %q.", f))
	}
	switch {
	case f == formatDirectory && d.Dir == nil:
		diags = diags.Errorf(cty.GetAttrPath("dir"), "Missing dir",
			`The directory format reads and writes a folder on the target: set dir = "/var/backups/app.dump".`)
	case f == formatDirectory && !path.IsAbs(*d.Dir):
		diags = diags.Errorf(cty.GetAttrPath("dir"), "Relative dir", fmt.Sprintf("dir is an absolute path on the target; got %q.", *d.Dir))
	case f != formatDirectory && d.Dir != nil:
		diags = diags.Errorf(cty.GetAttrPath("dir"), "dir without the directory format",
			fmt.Sprintf("The %s format goes through the stream; dir is for format = \"directory\". Remove dir, or set that format.", f))
	}
	if known.Has("jobs") && d.Jobs != nil {
		switch {
		case *d.Jobs < 1 || *d.Jobs > 64:
			diags = diags.Errorf(cty.GetAttrPath("jobs"), "Invalid jobs", fmt.Sprintf("jobs is from 1 to 64; got %d.", *d.Jobs))
		case f != formatDirectory && *d.Jobs > 1:
			diags = diags.Errorf(cty.GetAttrPath("jobs"), "Parallel jobs need the directory format",
				fmt.Sprintf("pg_dump and pg_restore run parallel jobs only on a folder (format = \"directory\"); the %s format streams one table after another.", f))
		}
	}
	return diags
}

type dumpArgs struct {
	connArgs
	dumpTarget
	Database string   `zrun:"database" help:"The database to dump."`
	Compress *string  `zrun:"compress" help:"pg_dump's --compress (\"0\" to \"9\"). Default: \"0\" for custom (compression is a later step's job: a zstd stage uses every core), pg_dump's own for directory; refused for plain."`
	Options  []string `zrun:"options,optional" help:"More pg_dump options, e.g. [\"--exclude-table-data=audit_log\", \"--schema=public\"]. Options that choose the connection, format or output are refused: they are this action's arguments."`
}

type dumpOutputs struct {
	Stream        string `zrun:"stream,stream" help:"The dump as pg_dump writes it (plain and custom formats), for another step to consume (from = step.dump.stream)."`
	Format        string `zrun:"format" help:"The dump's format."`
	Database      string `zrun:"database" help:"The database dumped."`
	ServerVersion string `zrun:"server_version" help:"The server's version, e.g. \"15.8\"."`
	Bytes         int64  `zrun:"bytes" help:"How many bytes the stream carried (for the directory format: the size of the files written)."`
}

func newDump() sdk.Action {
	return sdk.NewAction("dump",
		"Dump a database with pg_dump on the target, into the stream (plain or custom format) or a folder on the target (directory format, parallel jobs). Fails, and so fails its stream's consumer, unless pg_dump succeeds.",
		runDump, sdk.WithValidate(validateDump), sdk.WithPlan(planDump))
}

// toolOwnedOptions are the pg_dump and pg_restore options this plugin
// sets itself.
var toolOwnedOptions = []string{"-h", "--host", "-p", "--port", "-U", "--username", "-d", "--dbname", "-W", "--password",
	"-w", "--no-password", "-f", "--file", "-F", "--format", "-j", "--jobs", "-Z", "--compress", "-1", "--single-transaction"}

func validateOptions(opts []string, known sdk.Known) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !known.Has("options") {
		return nil
	}
	for i, o := range opts {
		name, _, _ := strings.Cut(o, "=")
		short := len(o) > 2 && o[0] == '-' && o[1] != '-' && slices.Contains(toolOwnedOptions, o[:2])
		switch {
		case !strings.HasPrefix(o, "-"):
			diags = diags.Errorf(cty.GetAttrPath("options").IndexInt(i), "Invalid option",
				fmt.Sprintf("Every element of options is one option with its value, as \"--schema=public\"; got %q.", o))
		case slices.Contains(toolOwnedOptions, name) || short:
			diags = diags.Errorf(cty.GetAttrPath("options").IndexInt(i), "Option set by the action",
				fmt.Sprintf("%s is set from this action's arguments (host, port, user, database, format, dir, jobs, compress); use them instead.", name))
		}
	}
	return diags
}

func validateDump(_ context.Context, a dumpArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.connArgs.validate(known)
	diags = append(diags, validateName("database", a.Database, known)...)
	diags = append(diags, a.dumpTarget.validate(known)...)
	diags = append(diags, validateOptions(a.Options, known)...)
	if known.Has("compress") && known.Has("format") && a.Compress != nil {
		n, err := strconv.Atoi(*a.Compress)
		switch {
		case a.format() == formatPlain:
			diags = diags.Errorf(cty.GetAttrPath("compress"), "Compression of a plain dump",
				"A plain dump is SQL text for the stream's next step to compress; remove compress.")
		case err != nil || n < 0 || n > 9:
			diags = diags.Errorf(cty.GetAttrPath("compress"), "Invalid compress", fmt.Sprintf("compress is a level from \"0\" to \"9\"; got %q.", *a.Compress))
		}
	}
	return diags
}

func planDump(_ context.Context, a dumpArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	to := "the stream"
	if a.format() == formatDirectory && a.Dir != nil {
		to = *a.Dir
	}
	return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("dump database %s at %s%s (%s format) to %s",
		knownOr(known, "database", a.Database), a.where(), fromTarget(target), a.format(), to)}}, nil
}

// errNoConsumer is a plain or custom dump whose stream no step reads.
var errNoConsumer = errors.New(`no step reads this dump's stream: a dump that goes nowhere is a mistake, so it fails before it dumps anything. ` +
	`Connect it to a step that stores or restores it (from = step.NAME.stream), or use format = "directory" with dir`)

func runDump(ctx context.Context, a dumpArgs, ui sdk.UI) (dumpOutputs, error) {
	out := dumpOutputs{Format: a.format(), Database: a.Database}
	stream, err := ui.OutputStream("stream")
	if err != nil {
		return out, err
	}
	if stream != nil {
		defer stream.Close()
	}
	if stream == nil && out.Format != formatDirectory {
		return out, errNoConsumer
	}
	// The version is the dump's metadata, and connecting first makes a
	// wrong database or password fail here, with pgx's clear message.
	conn, err := a.connect(ctx, ui, a.Database)
	if err != nil {
		return out, err
	}
	out.ServerVersion, _, err = serverVersion(ctx, conn)
	closeConn(ctx, conn)
	if err != nil {
		return out, a.redact(err)
	}
	t := &tool{conn: a.connArgs, target: ui.Target(), ui: ui}
	args := []string{"pg_dump", "--no-password", "--format=" + out.Format, "--dbname=" + t.conninfo(a.Database)}
	switch {
	case a.Compress != nil:
		args = append(args, "--compress="+*a.Compress)
	case out.Format == formatCustom:
		args = append(args, "--compress=0")
	}
	if out.Format == formatDirectory {
		args = append(args, "--file="+*a.Dir, "--jobs="+strconv.Itoa(a.jobs()))
	}
	args = append(args, a.Options...)

	if out.Format == formatDirectory {
		if err := t.run(ctx, args, nil, nil); err != nil {
			return out, err
		}
		out.Bytes, err = dirSize(ctx, ui.Target(), *a.Dir)
		ui.Logf("dumped database %s to %s on %s: %d bytes", a.Database, *a.Dir, ui.Target().Name(), out.Bytes)
		return out, err
	}
	sent := newProgress(ui, "dumping "+a.Database)
	err = t.run(ctx, args, nil, counted{w: stream, p: sent})
	out.Bytes = sent.bytes()
	if err != nil {
		return out, fmt.Errorf("dump of database %q failed after %d bytes: %w", a.Database, out.Bytes, err)
	}
	ui.Progress(out.Bytes, out.Bytes, "dumped "+a.Database)
	ui.Logf("dumped database %s (%s format): %d bytes", a.Database, out.Format, out.Bytes)
	return out, nil
}

// dirSize adds up the sizes of the files in a folder on the target (a
// directory-format dump has no subfolders).
func dirSize(ctx context.Context, target sdk.Target, dir string) (int64, error) {
	entries, err := target.ReadDir(ctx, dir)
	if err != nil {
		return 0, fmt.Errorf("list the dump %s on %s: %w", dir, target.Name(), err)
	}
	var n int64
	for _, e := range entries {
		if e.Mode.IsRegular() {
			n += e.Size
		}
	}
	return n, nil
}
