package nginx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/textdiff"
)

// file is one file a change publishes: a configuration file, or a TLS
// certificate or key that one references.
type file struct {
	path    string
	content []byte
	mode    fs.FileMode
	secret  bool // a private key: its contents are never shown
}

// current is a file as the target has it before the change.
type current struct {
	*file
	exists bool
	old    []byte
	mode   fs.FileMode
}

func (c *current) changed() bool {
	return !c.exists || !bytes.Equal(c.old, c.content) || c.mode != c.file.mode
}

// change is a set of files compared with the target's.
type change struct {
	files []*current
}

// restoreTimeout is the least time a restoring reload may take.
const restoreTimeout = 10 * time.Second

// maxConfig bounds a file read to compare it.
const maxConfig = 8 << 20

// compare reads what the target has at each file's path.
func compare(ctx context.Context, t sdk.Target, files []*file) (*change, error) {
	c := &change{}
	for _, f := range files {
		cur := &current{file: f}
		fi, err := t.Stat(ctx, f.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("look at %s on %s: %w", f.path, t.Name(), err)
		case fi.IsDir():
			return nil, fmt.Errorf("%s is a folder on %s; the path is the file's own", f.path, t.Name())
		default:
			cur.exists, cur.mode = true, fi.Mode.Perm()
			if cur.old, err = readFile(ctx, t, f.path, maxConfig); err != nil {
				return nil, fmt.Errorf("read %s on %s: %w", f.path, t.Name(), err)
			}
		}
		c.files = append(c.files, cur)
	}
	return c, nil
}

func (c *change) changed() bool {
	for _, f := range c.files {
		if f.changed() {
			return true
		}
	}
	return false
}

// diff is the unified diff of every changed file; a key's contents (and
// a certificate's, which are long and say nothing to a reader) are
// summarised by their path.
func (c *change) diff(host string) string {
	var parts []string
	for _, f := range c.files {
		if !f.changed() {
			continue
		}
		if f.secret || bytes.Contains(f.content, []byte("-----BEGIN ")) {
			what := "certificate"
			if f.secret {
				what = "private key"
			}
			verb := "update"
			switch {
			case !f.exists:
				verb = "create"
			case bytes.Equal(f.old, f.content):
				verb = fmt.Sprintf("set the mode (%04o) of", f.file.mode)
			}
			parts = append(parts, fmt.Sprintf("%s %s %s (mode %04o; contents not shown)", verb, what, f.path, f.file.mode))
			continue
		}
		from := f.path + " on " + host
		if !f.exists {
			from = "/dev/null"
		}
		text, err := textdiff.Unified(string(f.old), string(f.content), from, f.path+" (new)")
		if err != nil {
			text = fmt.Sprintf("(no diff of %s: %v)", f.path, err)
		}
		if text == "" {
			text = fmt.Sprintf("set the mode of %s to %04o", f.path, f.file.mode)
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "\n")
}

// fileOutputs are the outputs of an action that writes nginx's files
// through apply: nginx.site and nginx.upstream.
type fileOutputs struct {
	Changed bool   `zrun:"changed" help:"Whether a file was written and nginx reloaded."`
	Path    string `zrun:"path" help:"The file's path."`
	SHA256  string `zrun:"sha256" help:"The SHA-256 of the file now on the target, in hex."`
	Diff    string `zrun:"diff" help:"The unified diff of the files the step changed (keys and certificates named, not shown); \"\" when nothing changed."`
}

// plan turns a comparison into plan changes: a summary line, then the diff.
func (c *change) plan(what, host string) *sdk.PlanResponse {
	if !c.changed() {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("%s on %s: no change", what, host)}, NoOp: true}
	}
	return &sdk.PlanResponse{Changes: append([]string{fmt.Sprintf("write %s on %s, test and reload nginx", what, host)},
		strings.Split(c.diff(host), "\n")...)}
}

// apply publishes the changed files, tests and reloads nginx, and on
// any failure puts the previous files back (reloading again when nginx
// had taken the new ones), so that nginx keeps the configuration it had.
// Nothing is touched when nothing changed or nginx is not running.
func (s *server) apply(ctx context.Context, c *change) error {
	if !c.changed() {
		return nil
	}
	if _, _, err := s.workers(ctx); err != nil {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	var written []*current
	for _, f := range c.files {
		if !f.changed() {
			continue
		}
		written = append(written, f)
		if err := writeFile(ctx, s.t, f.path, f.content, f.file.mode); err != nil {
			return s.restore(ctx, written, false, fmt.Errorf("write %s on %s: %w", f.path, s.t.Name(), err))
		}
	}
	if err := s.testReload(ctx); err != nil {
		var r *refused
		if errors.As(err, &r) {
			return s.restore(ctx, written, false, fmt.Errorf("the new configuration was refused: %w", err))
		}
		return s.restore(ctx, written, true, err)
	}
	return nil
}

// restore puts back the previous contents of the written files (removes
// those that did not exist) and, when nginx may have read the new ones,
// reloads it again. It returns cause, saying what was restored.
func (s *server) restore(ctx context.Context, written []*current, reload bool, cause error) error {
	// Restoring must happen even when the step's ctx ended: it is the
	// safety net. It is still bounded, by the reload timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(s.timeout, restoreTimeout)+10*time.Second)
	defer cancel()
	var errs []error
	for i := len(written) - 1; i >= 0; i-- {
		f := written[i]
		var err error
		if f.exists {
			err = writeFile(ctx, s.t, f.path, f.old, f.mode)
		} else if err = s.t.Remove(ctx, f.path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", f.path, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w\nAND the previous files could not all be put back on %s (nginx still runs its previous configuration until its next reload): %w", cause, s.t.Name(), errors.Join(errs...))
	}
	if !reload {
		return fmt.Errorf("%w\nThe previous files are back on %s; nginx was not reloaded and serves its previous configuration.", cause, s.t.Name())
	}
	// nginx may still be busy with the reload that failed (it retries a
	// bind for 2 s): the safety net waits longer than the step did.
	if err := s.reloadWithin(ctx, max(s.timeout, restoreTimeout)); err != nil {
		return fmt.Errorf("%w\nThe previous files are back on %s, but reloading them failed too: %w", cause, s.t.Name(), err)
	}
	return fmt.Errorf("%w\nThe previous files are back on %s and nginx was reloaded with them.", cause, s.t.Name())
}

// writeFile publishes content at name atomically.
func writeFile(ctx context.Context, t sdk.Target, name string, content []byte, mode fs.FileMode) error {
	w, err := t.Create(ctx, name, &sdk.CreateOptions{Mode: mode})
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(content); err != nil {
		return err
	}
	return w.Close()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
