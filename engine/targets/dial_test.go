package targets_test

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zrun-dev/zrun/sdk"
)

// TestDialHalfClose dials a listener from the host, TCP and unix: the
// server reads until EOF (which only CloseWrite sends) and answers after.
func TestDialHalfClose(t *testing.T) {
	tg, _ := target(t)
	tests := map[string]struct{ network, addr string }{
		"tcp":  {"tcp", "127.0.0.1:0"},
		"unix": {"unix", filepath.Join(t.TempDir(), "s.sock")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l, err := net.Listen(tc.network, tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go answerAfterEOF(l)

			conn, err := tg.Dial(t.Context(), tc.network, l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, "ping")
			if err := conn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(conn)
			if err != nil || string(got) != "got ping" {
				t.Errorf("answer %q, %v", got, err)
			}
		})
	}
}

func answerAfterEOF(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		got, _ := io.ReadAll(c)
		io.WriteString(c, "got "+string(got))
		c.Close()
	}
}

func TestDialErrors(t *testing.T) {
	tg, _ := target(t)
	if _, err := tg.Dial(t.Context(), "udp", "127.0.0.1:53"); err == nil || !strings.Contains(err.Error(), `network "udp" is not supported`) {
		t.Errorf("udp: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := tg.Dial(t.Context(), "tcp", addr); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("closed port: %v", err)
	}
	// The connection survives a refused dial.
	run(t.Context(), t, tg, &sdk.Command{Args: []string{"true"}})
}
