package http

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// MaxBody is how much of a response body is read, matched and returned.
const MaxBody = 1 << 20

// excerptLen is how much of a body an error message quotes.
const excerptLen = 200

// expectation is what makes a response good: its status and, optionally,
// its body.
type expectation struct {
	status []int // empty means any 2xx
	body   *regexp.Regexp
}

func newExpectation(status []int, body *string) (expectation, error) {
	e := expectation{status: status}
	if body != nil {
		re, err := regexp.Compile(*body)
		if err != nil {
			return e, fmt.Errorf("expect_body: %w", err)
		}
		e.body = re
	}
	return e, nil
}

// needsBody reports whether check looks at the body.
func (e expectation) needsBody() bool { return e.body != nil }

// check returns why a response falls short, or "" when it is good.
func (e expectation) check(status int, body []byte) string {
	if !e.statusOK(status) {
		return fmt.Sprintf("status %d, expected %s", status, e.statusText())
	}
	if e.body != nil && !e.body.Match(body) {
		return fmt.Sprintf("body does not match %q", e.body.String())
	}
	return ""
}

func (e expectation) statusOK(status int) bool {
	if len(e.status) == 0 {
		return status >= 200 && status <= 299
	}
	return slices.Contains(e.status, status)
}

func (e expectation) statusText() string {
	if len(e.status) == 0 {
		return "2xx"
	}
	s := make([]string, len(e.status))
	for i, n := range e.status {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " or ")
}

// newClient returns a client that dials through target. Redirects are
// followed; the environment's proxy settings are not used, since the
// connection starts on the target.
func newClient(target sdk.Target, insecure bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return target.Dial(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure}, // only when the step asks for it
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}}
}

// readBody reads up to MaxBody bytes and closes the body.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, MaxBody))
}

// excerpt returns the start of a body for an error message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body[:min(len(body), excerptLen)]), "\uFFFD"))
	if len(body) > excerptLen {
		s += "…"
	}
	return s
}

// describeErr turns a failed request into a short reason for the
// operator: "connection refused", "no answer within 5s".
func describeErr(err error, reqCtx context.Context, timeout time.Duration) string {
	switch {
	case errors.Is(reqCtx.Err(), context.DeadlineExceeded):
		return "no answer within " + timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		err = opErr.Err
	}
	return err.Error()
}

// milliseconds renders a duration for log lines: "12ms", "1.5s".
func milliseconds(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
