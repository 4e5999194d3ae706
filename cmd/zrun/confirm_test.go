package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestReadAnswer(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    string
		wantErr string
	}{
		"a line":              {in: "prod\n", want: "prod"},
		"spaces and CRLF":     {in: "  prod \r\n", want: "prod"},
		"only the first line": {in: "prod\nmore\n", want: "prod"},
		"no line ending":      {in: "prod", want: "prod"},
		"nothing (Ctrl-D)":    {in: "", wantErr: "no answer"},
		"too long":            {in: strings.Repeat("x", 2*maxAnswer), wantErr: "no answer"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := readAnswer(t.Context(), strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestReadAnswerCancelled: Ctrl-C while zrun waits for the answer stops
// the wait, with the interrupt as the reason.
func TestReadAnswerCancelled(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancelCause(t.Context())
	why := errors.New("interrupted (Ctrl-C)")
	time.AfterFunc(50*time.Millisecond, func() { cancel(why) })
	if _, err := readAnswer(ctx, r); !errors.Is(err, why) {
		t.Errorf("got %v, want the interrupt", err)
	}
}
