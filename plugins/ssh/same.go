package ssh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/zrun-dev/zrun/sdk"
)

// statTarget describes a path on the target; nil, nil when it is missing.
func statTarget(ctx context.Context, t sdk.Target, p string) (*sdk.FileInfo, error) {
	fi, err := t.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return fi, err
}

// owners turns owner and group names into the numeric ids Stat reports,
// asking the target (id -u, getent group) once per name.
type owners struct {
	t     sdk.Target
	cache map[string]int
}

// id returns the numeric id of an owner ("user") or group ("group"), and
// false when the target cannot say (no such name, no id or getent).
func (o *owners) id(ctx context.Context, kind, name string) (int, bool) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, true
	}
	key := kind + ":" + name
	if n, ok := o.cache[key]; ok {
		return n, n >= 0
	}
	args := []string{"id", "-u", name}
	if kind == "group" {
		args = []string{"getent", "group", name}
	}
	var out bytes.Buffer
	n := -1
	if res, err := o.t.Exec(ctx, &sdk.Command{Args: args, Stdout: &out}); err == nil && res.ExitCode == 0 {
		field := strings.TrimSpace(out.String())
		if kind == "group" {
			if parts := strings.Split(field, ":"); len(parts) >= 3 {
				field = parts[2]
			}
		}
		if v, err := strconv.Atoi(field); err == nil {
			n = v
		}
	}
	if o.cache == nil {
		o.cache = map[string]int{}
	}
	o.cache[key] = n
	return n, n >= 0
}

// sameMeta reports whether fi already has the mode, owner and group opts
// ask for. What the target cannot tell (an owner it cannot resolve, a
// target that reports no ids) counts as the same: an unchanged file is
// not rewritten for a check that cannot be made.
func (o *owners) sameMeta(ctx context.Context, fi *sdk.FileInfo, opts *sdk.CreateOptions) bool {
	if fi.Mode.Perm() != opts.Mode.Perm() {
		return false
	}
	for _, c := range []struct {
		kind, name string
		have       int
	}{{"user", opts.Owner, fi.UID}, {"group", opts.Group, fi.GID}} {
		if c.name == "" || c.have < 0 {
			continue
		}
		if want, ok := o.id(ctx, c.kind, c.name); ok && want != c.have {
			return false
		}
	}
	return true
}

// sameContent reports whether the target's file at p holds what the
// local file at src holds, by size and SHA-256, reading both as streams.
func sameContent(ctx context.Context, t sdk.Target, p string, remote *sdk.FileInfo, src string, size int64) (bool, error) {
	if remote == nil || !remote.Mode.IsRegular() || remote.Size != size {
		return false, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer f.Close()
	local, err := sum(contextReader{ctx, f})
	if err != nil {
		return false, err
	}
	r, err := t.Open(ctx, p)
	if err != nil {
		return false, err
	}
	defer r.Close()
	theirs, err := sum(r)
	if err != nil {
		return false, err
	}
	return bytes.Equal(local, theirs), nil
}

func sum(r io.Reader) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
