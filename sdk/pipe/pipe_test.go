package pipe

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// outcome is a producer's outcome the test settles by hand.
type outcome struct {
	done chan struct{}
	err  error
}

func newOutcome() *outcome { return &outcome{done: make(chan struct{})} }

func (o *outcome) settle(err error) { o.err = err; close(o.done) }

func (o *outcome) wait(ctx context.Context) error {
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func addr(t *testing.T) string {
	dir, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "p")
	if len(a) > MaxAddr {
		t.Skipf("temp dir too long for a socket path: %s", a)
	}
	return a
}

func TestPipe(t *testing.T) {
	tests := map[string]struct {
		write   string
		connect bool
		result  error
		// wantListen is Listen's error; wantRead, ReadAll's.
		wantListen, wantRead string
		want                 string
	}{
		"succeeded":             {write: "hello", connect: true, want: "hello"},
		"failed after writing":  {write: "partial", connect: true, result: errors.New("step.dump failed: boom"), wantRead: "step.dump failed: boom"},
		"failed before dialing": {result: errors.New("step.dump failed: no such file"), wantListen: "step.dump failed: no such file"},
		"succeeded, no stream":  {want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := addr(t)
			o := newOutcome()
			go func() {
				if tc.connect {
					w, err := Dial(t.Context(), a)
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.WriteString(w, tc.write)
					_ = w.Close()
				}
				time.Sleep(20 * time.Millisecond) // the end of the socket before the outcome
				o.settle(tc.result)
			}()
			r, err := Listen(t.Context(), a, o.wait)
			if tc.wantListen != "" {
				if err == nil || err.Error() != tc.wantListen {
					t.Fatalf("Listen: got %v, want %q", err, tc.wantListen)
				}
				return
			}
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if tc.wantRead != "" {
				if err == nil || err.Error() != tc.wantRead {
					t.Fatalf("ReadAll: got %v, want %q", err, tc.wantRead)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("ReadAll: got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestDialWaitsForListener: the producer may start first.
func TestDialWaitsForListener(t *testing.T) {
	a := addr(t)
	o := newOutcome()
	done := make(chan error, 1)
	go func() {
		w, err := Dial(t.Context(), a)
		if err == nil {
			_, err = io.WriteString(w, "late")
			_ = w.Close()
			o.settle(nil)
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	r, err := Listen(t.Context(), a, o.wait)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "late" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDialEndsWithCtx: a consumer that never listens does not hang its
// producer once its ctx ends.
func TestDialEndsWithCtx(t *testing.T) {
	ctx, cancel := context.WithTimeoutCause(t.Context(), 50*time.Millisecond, errors.New("step.load failed"))
	defer cancel()
	_, err := Dial(ctx, addr(t))
	if err == nil || !strings.Contains(err.Error(), "step.load failed") {
		t.Fatalf("got %v", err)
	}
}

// TestWriteAfterConsumerClosed: the producer's writes fail once the
// consumer stopped reading.
func TestWriteAfterConsumerClosed(t *testing.T) {
	a := addr(t)
	o := newOutcome()
	errc := make(chan error, 1)
	go func() {
		w, err := Dial(t.Context(), a)
		if err != nil {
			errc <- err
			return
		}
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	r, err := Listen(t.Context(), a, o.wait)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	err = <-errc
	if err == nil || !strings.Contains(err.Error(), "stopped reading") {
		t.Fatalf("got %v", err)
	}
}

// TestStreamsText: a stream argument no pipe connects reads its string.
func TestStreamsText(t *testing.T) {
	s := NewStreams(t.Context(), nil, ctyObject(map[string]string{"stdin": "text"}))
	r, err := s.InputStream("stdin")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if string(got) != "text" {
		t.Fatalf("got %q", got)
	}
	if _, err := s.InputStream("stdin"); err == nil {
		t.Fatal("a second InputStream of one argument succeeded")
	}
	if w, err := s.OutputStream("stream"); w != nil || err != nil {
		t.Fatalf("an unconnected output: got %v, %v", w, err)
	}
}

func ctyObject(m map[string]string) cty.Value {
	attrs := map[string]cty.Value{}
	for k, v := range m {
		attrs[k] = cty.StringVal(v)
	}
	return cty.ObjectVal(attrs)
}
