package targets_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/sdk"
)

// The server runs on this machine: what it wrote is checked through the
// local file system.

func TestCreatePublishesAtomically(t *testing.T) {
	tg, _ := target(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := tg.Create(t.Context(), name, &sdk.CreateOptions{Mode: 0o600, Owner: "0", Group: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "new content"); err != nil {
		t.Fatal(err)
	}
	// Until Close, readers see the old content; the new one is hidden beside it.
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Errorf("before Close, %s = %q", name, got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(name)
	if string(got) != "new content" {
		t.Errorf("after Close, %s = %q", name, got)
	}
	fi, _ := os.Stat(name)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close: %v", err)
	}
	assertOnly(t, dir, "app.conf")
}

func TestCreateAbortLeavesTheOld(t *testing.T) {
	tg, _ := target(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "app.conf")
	os.WriteFile(name, []byte("old"), 0o644)
	w, err := tg.Create(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "half")
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after Abort published")
	}
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Errorf("after Abort, %s = %q", name, got)
	}
	assertOnly(t, dir, "app.conf")
}

func TestCreateCancelledDiscards(t *testing.T) {
	tg, _ := target(t)
	dir := t.TempDir()
	ctx, cancel := contextWithCancel(t)
	w, err := tg.Create(ctx, filepath.Join(dir, "f"), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "x")
	cancel()
	if err := w.Close(); err == nil {
		t.Error("Close after the ctx ended published")
	}
	assertOnly(t, dir)
}

func TestCreateUnknownOwner(t *testing.T) {
	tg, _ := target(t)
	dir := t.TempDir()
	w, err := tg.Create(t.Context(), filepath.Join(dir, "f"), &sdk.CreateOptions{Owner: "no-such-user-zrun"})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	if err == nil || !strings.Contains(err.Error(), `no user named "no-such-user-zrun"`) {
		t.Errorf("err = %v, want the unknown user named", err)
	}
	assertOnly(t, dir)
}

func TestFileOps(t *testing.T) {
	tg, _ := target(t)
	ctx := t.Context()
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := tg.MkdirAll(ctx, sub, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(dir, "a"), sub} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v %v, want a 0750 directory", d, fi.Mode(), err)
		}
	}
	if err := tg.MkdirAll(ctx, sub, 0o750); err != nil {
		t.Errorf("MkdirAll of an existing directory: %v", err)
	}
	for _, n := range []string{"z", "m", "a1"} {
		os.WriteFile(filepath.Join(sub, n), []byte(n), 0o644)
	}
	os.Symlink("z", filepath.Join(sub, "link"))

	infos, err := tg.ReadDir(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name)
	}
	if diff := cmp.Diff([]string{"a1", "link", "m", "z"}, names); diff != "" {
		t.Errorf("ReadDir (-want +got):\n%s", diff)
	}

	fi, err := tg.Stat(ctx, filepath.Join(sub, "link"))
	if err != nil || fi.Mode&fs.ModeSymlink == 0 {
		t.Errorf("Stat of a symlink: %v, %v: want the link itself", fi, err)
	}
	fi, err = tg.Stat(ctx, filepath.Join(sub, "m"))
	if err != nil || fi.Size != 1 || fi.UID != os.Getuid() || fi.IsDir() {
		t.Errorf("Stat: %+v, %v", fi, err)
	}
	if _, err := tg.Stat(ctx, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing file: %v, want fs.ErrNotExist", err)
	}

	if err := tg.Rename(ctx, filepath.Join(sub, "m"), filepath.Join(sub, "z")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(sub, "z")); string(got) != "m" {
		t.Errorf("Rename did not replace: z = %q", got)
	}
	if err := tg.Remove(ctx, filepath.Join(sub, "z")); err != nil {
		t.Fatal(err)
	}
	if err := tg.Remove(ctx, filepath.Join(sub, "z")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err := tg.Remove(ctx, sub); err == nil {
		t.Error("Remove of a non-empty directory succeeded")
	}

	r, err := tg.Open(ctx, filepath.Join(sub, "a1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != "a1" {
		t.Errorf("Open: %q, %v", got, err)
	}
	if _, err := tg.Open(ctx, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// assertOnly fails unless dir holds exactly names (no temporary file left).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	got := []string{}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if names == nil {
		names = []string{}
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("%s holds (-want +got):\n%s", dir, diff)
	}
}

func TestOpenEndsWithItsContext(t *testing.T) {
	tg, _ := target(t)
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	r, err := tg.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
		t.Errorf("read after the ctx ended: %v, want context.Canceled", err)
	}
}

// A large upload is flushed to disk while it is transferred (through a
// second SFTP session), and neither its bytes nor an Abort mid-way suffer.
func TestCreateFlushesBehindTheTransfer(t *testing.T) {
	targets.SetFlushEvery(t.Cleanup, 1<<20)
	tg, _ := target(t)
	dir := t.TempDir()
	name := filepath.Join(dir, "big")
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	before := targets.Flushed()
	w, err := tg.Create(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for p := want; len(p) > 0; p = p[256<<10:] {
		if _, err := w.Write(p[:256<<10]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, not the %d written", name, len(got), len(want))
	}
	if n := targets.Flushed() - before; n == 0 {
		t.Error("16 MiB with a flush every MiB: no flush ran during the transfer")
	}
	assertOnly(t, dir, "big")

	// Aborted while flushes run: nothing is left, the old file stays.
	w, err = tg.Create(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if _, err := w.Write(want[:1<<20]); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	if got, _ := os.ReadFile(name); !bytes.Equal(got, want) {
		t.Error("an aborted upload changed the published file")
	}
	assertOnly(t, dir, "big")
}
