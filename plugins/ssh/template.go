package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode/utf8"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/textdiff"
)

// maxDiff bounds the current file read to show a diff: a larger one is
// compared (by size and content) but its diff is not shown.
const maxDiff = 1 << 20

type templateArgs struct {
	Content  string `zrun:"content" help:"The file's content, usually rendered by templatefile(\"nginx.conf.tftpl\", { port = 8080 })."`
	Dest     string `zrun:"dest" help:"Absolute path of the file on the target."`
	ShowDiff *bool  `zrun:"show_diff" help:"Show the unified diff of the current file and the new content in plans, the step's log and the diff output. Default: true; secrets in it are masked."`
	fileOptions
}

type templateOutputs struct {
	Changed bool   `zrun:"changed" help:"Whether the file was written: its content, mode or owner differed."`
	Diff    string `zrun:"diff" help:"The unified diff of the old content and the new; \"\" when the content is unchanged or show_diff is false."`
}

func newTemplate() sdk.Action {
	return sdk.NewAction("template",
		"Publish a rendered file on the target only when it differs from what is there (content, mode or owner), "+
			"atomically. Plans show the diff.",
		runTemplate, sdk.WithValidate(validateTemplate), sdk.WithPlan(planTemplate))
}

func validateTemplate(_ context.Context, a templateArgs, known sdk.Known) sdk.Diagnostics {
	return append(validateRemotePath("dest", a.Dest, known), a.validate(known)...)
}

// comparison is how the target's file differs from a template's content.
type comparison struct {
	exists         bool
	contentChanged bool
	metaChanged    bool
	diff           string
}

func (c *comparison) changed() bool { return c.contentChanged || c.metaChanged }

// compare reads the target's file at a.Dest and compares it with
// a.Content, its mode and owner with a's.
func (a *templateArgs) compare(ctx context.Context, t sdk.Target) (*comparison, error) {
	c := &comparison{}
	fi, err := statTarget(ctx, t, a.Dest)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		c.contentChanged, c.metaChanged = true, true
		c.diff = a.diff(nil, false, t.Name())
		return c, nil
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a folder on %s; dest is the file's own path", a.Dest, t.Name())
	}
	c.exists = true
	c.metaChanged = !(&owners{t: t}).sameMeta(ctx, fi, a.create(defaultFileMode))
	if fi.Size != int64(len(a.Content)) && fi.Size > maxDiff {
		c.contentChanged = true
		c.diff = a.diff(nil, true, t.Name())
		return c, nil
	}
	r, err := t.Open(ctx, a.Dest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	old, err := io.ReadAll(io.LimitReader(r, int64(max(maxDiff, len(a.Content)))+1))
	if err != nil {
		return nil, err
	}
	tooLarge := len(old) > max(maxDiff, len(a.Content))
	c.contentChanged = tooLarge || !bytes.Equal(old, []byte(a.Content))
	if c.contentChanged {
		c.diff = a.diff(old, tooLarge, t.Name())
	}
	return c, nil
}

// diff renders the unified diff of old (nil for a missing file) and the
// new content, or says why it cannot.
func (a *templateArgs) diff(old []byte, tooLarge bool, host string) string {
	if a.ShowDiff != nil && !*a.ShowDiff {
		return ""
	}
	switch {
	case tooLarge:
		return fmt.Sprintf("(the current %s is over %s: no diff shown)", a.Dest, sizeText(maxDiff))
	case binary(old) || binary([]byte(a.Content)):
		return "(binary content differs)"
	}
	from := a.Dest + " on " + host
	if old == nil {
		from = "/dev/null"
	}
	text, err := textdiff.Unified(string(old), a.Content, from, a.Dest+" (rendered)")
	if err != nil {
		return fmt.Sprintf("(no diff: %v)", err)
	}
	if text == "" {
		return "(only the line end after the last line differs)"
	}
	return text
}

func binary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) }

func planTemplate(ctx context.Context, a templateArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if target == nil || !known.All() {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("render %s on %s if it changed (content known at run time)", a.Dest, targetName(target))}}, nil
	}
	c, err := a.compare(ctx, target)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("render %s on %s (cannot read the current file to compare: %v)", a.Dest, target.Name(), err)}}, nil
		}
		return nil, fmt.Errorf("cannot compare %s on %s: %w", a.Dest, target.Name(), err)
	}
	switch {
	case !c.changed():
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("%s on %s is up to date", a.Dest, target.Name())}, NoOp: true}, nil
	case !c.exists:
		return &sdk.PlanResponse{Changes: withDiff(fmt.Sprintf("create %s on %s", a.Dest, target.Name()), c.diff)}, nil
	case !c.contentChanged:
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("set the mode and owner of %s on %s (content unchanged)", a.Dest, target.Name())}}, nil
	}
	return &sdk.PlanResponse{Changes: withDiff(fmt.Sprintf("update %s on %s", a.Dest, target.Name()), c.diff)}, nil
}

// withDiff is a plan's changes: the summary, then the diff's lines.
func withDiff(summary, diff string) []string {
	if diff == "" {
		return []string{summary}
	}
	return append([]string{summary}, strings.Split(diff, "\n")...)
}

func runTemplate(ctx context.Context, a templateArgs, ui sdk.UI) (templateOutputs, error) {
	target, err := stepTarget(ui)
	if err != nil {
		return templateOutputs{}, err
	}
	c, err := a.compare(ctx, target)
	if errors.Is(err, fs.ErrPermission) {
		// What cannot be read cannot be compared; the write may still be
		// allowed (with an owner set through sudo), so publish anyway.
		ui.Logf("cannot read %s on %s to compare (%v): writing it", a.Dest, target.Name(), err)
		c, err = &comparison{contentChanged: true, metaChanged: true}, nil
	}
	if err != nil {
		return templateOutputs{}, fmt.Errorf("compare %s on %s: %w", a.Dest, target.Name(), err)
	}
	if !c.changed() {
		ui.Logf("%s on %s is up to date", a.Dest, target.Name())
		return templateOutputs{}, nil
	}
	for _, line := range withDiff(fmt.Sprintf("writing %s on %s", a.Dest, target.Name()), c.diff) {
		ui.Logf("%s", line)
	}
	w, err := target.Create(ctx, a.Dest, a.create(defaultFileMode))
	if err != nil {
		return templateOutputs{}, fmt.Errorf("write %s on %s: %w", a.Dest, target.Name(), err)
	}
	if _, err := copyFile(w, strings.NewReader(a.Content), nil); err != nil {
		return templateOutputs{}, fmt.Errorf("write %s on %s (nothing published): %w", a.Dest, target.Name(), err)
	}
	return templateOutputs{Changed: true, Diff: c.diff}, nil
}
