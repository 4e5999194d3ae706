package engine

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine/events"
	"github.com/zrun-dev/zrun/sdk"
)

// recordUI returns a stepUI masking secrets and a function that returns
// the events it emitted, as "stream: line" and "progress: message".
func recordUI(secrets ...string) (*stepUI, func() []string) {
	var mu sync.Mutex
	var got []string
	sink := events.SinkFunc(func(e events.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e := e.(type) {
		case events.StepLog:
			got = append(got, e.Stream+": "+e.Line)
		case events.StepProgress:
			got = append(got, "progress: "+e.Message)
		}
	})
	u := newStepUI(sink, sdk.RunInfo{Step: "step.x"}, nil, newMasker(secrets))
	return u, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestStepUI(t *testing.T) {
	const secret = "s3cr3t-value"
	pem := "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n==\n-----END KEY-----"
	long := strings.Repeat("a", maxLine-5)
	tests := map[string]struct {
		run  func(u *stepUI)
		want []string
	}{
		"lines assembled from any chunks": {
			run: func(u *stepUI) {
				write(u.Stdout(), "one\ntw", "o\r\nthr", "ee")
				write(u.Stderr(), "err\n")
			},
			want: []string{"stdout: one", "stdout: two", "stderr: err", "stdout: three"},
		},
		"a secret split across writes": {
			run:  func(u *stepUI) { write(u.Stdout(), "x s3c", "r3t", "-value y\n") },
			want: []string{"stdout: x (sensitive) y"},
		},
		"a secret across the cut of a line that never ends": {
			run: func(u *stepUI) { write(u.Stdout(), long, secret) },
			// Masked before the cut, which then falls before "(sensitive)".
			want: []string{"stdout: " + long, "stdout: (sensitive)"},
		},
		"a 200 KiB line is cut at 64 KiB": {
			run: func(u *stepUI) { write(u.Stdout(), strings.Repeat("b", 200<<10)) },
			want: []string{"stdout: " + strings.Repeat("b", maxLine), "stdout: " + strings.Repeat("b", maxLine),
				"stdout: " + strings.Repeat("b", maxLine), "stdout: " + strings.Repeat("b", 200<<10-3*maxLine)},
		},
		"a cut does not split a rune": {
			run:  func(u *stepUI) { write(u.Stdout(), strings.Repeat("c", maxLine-1), "€\n") },
			want: []string{"stdout: " + strings.Repeat("c", maxLine-1), "stdout: €"},
		},
		"Latin-1, binary and NUL bytes become valid text": {
			run:  func(u *stepUI) { write(u.Stdout(), "caf\xe9\n", "\x00\x01\xff\xfe\n") },
			want: []string{"stdout: caf\uFFFD", "stdout: \uFFFD\x01\uFFFD"},
		},
		"a multi-line secret, whole and line by line": {
			run: func(u *stepUI) {
				write(u.Stdout(), "key:\n"+pem+"\n", "  MIIEvQIBADANBgkqhkiG9w0B\n  ==\n")
			},
			want: []string{"stdout: key:", "stdout: (sensitive)", "stdout:   (sensitive)", "stdout: (sensitive)"},
		},
		"Logf and Progress are masked": {
			run: func(u *stepUI) {
				u.Logf("got %s and\n%s", secret, pem)
				u.Progress(1, 2, "sending "+secret+"\xff")
			},
			want: []string{"log: got (sensitive) and\n(sensitive)", "progress: sending (sensitive)\uFFFD"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u, got := recordUI(secret, pem)
			tc.run(u)
			u.flush()
			if diff := cmp.Diff(tc.want, got()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func write(w io.Writer, chunks ...string) {
	for _, c := range chunks {
		_, _ = io.WriteString(w, c)
	}
}
