package http

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

type checkArgs struct {
	URLs               map[string]string `zrun:"urls" help:"The URLs to check, by name: { gateway = \"http://localhost:8080/health\" }. All are checked at once."`
	ExpectStatus       []int             `zrun:"expect_status,optional" help:"Status codes that count as healthy. Default: any 2xx."`
	ExpectBody         *string           `zrun:"expect_body" help:"A regular expression (RE2) a healthy response body must match."`
	Interval           *string           `zrun:"interval" help:"How long to wait between attempts at one URL. Default: \"5s\"."`
	Deadline           *string           `zrun:"deadline" help:"How long to keep trying each URL; the last attempt starts at this deadline at the latest. Default: \"30s\"."`
	RequestTimeout     *string           `zrun:"request_timeout" help:"How long one attempt may take. Default: \"5s\"."`
	InsecureSkipVerify bool              `zrun:"insecure_skip_verify,optional" help:"Accept any TLS certificate. Only for test services with self-signed certificates."`
}

type checkOutputs struct {
	Healthy  map[string]bool `zrun:"healthy" help:"Whether each URL became healthy."`
	Attempts map[string]int  `zrun:"attempts" help:"How many requests each URL took."`
	Status   map[string]int  `zrun:"status" help:"The last status code of each URL; 0 when it never answered."`
}

const (
	defaultInterval     = 5 * time.Second
	defaultDeadline     = 30 * time.Second
	defaultProbeTimeout = 5 * time.Second
)

// check is the http.check action.
type check struct {
	schema *schema.Action
}

func newCheck() *check {
	return &check{schema: sdk.NewAction[checkArgs, checkOutputs]("check",
		"Wait until every URL answers as expected, checking them all concurrently and retrying each "+
			"until it is healthy or its deadline passes. Fails naming every URL still unhealthy.",
		nil).Schema()}
}

func (c *check) Schema() *schema.Action { return c.schema }

func (c *check) Validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if urls, ok := known(req.Args, "urls"); ok {
		for it := urls.ElementIterator(); it.Next(); {
			k, u := it.Element()
			diags = append(diags, validateURLArg(u, cty.GetAttrPath("urls").Index(k))...)
		}
	}
	diags = append(diags, validateDurations(req.Args, "interval", "deadline", "request_timeout")...)
	return append(diags, validateExpect(req.Args)...)
}

func (c *check) Plan(_ context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error) {
	urls, ok := known(req.Args, "urls")
	if !ok || !urls.IsWhollyKnown() {
		return &sdk.PlanResponse{Changes: []string{"check URLs (known at run time)"}}, nil
	}
	var args checkArgs
	if err := sdk.FromValue(req.Args, &args); err != nil {
		// Other arguments are not known yet; describe the URLs alone.
		args = checkArgs{URLs: map[string]string{}}
		for k, v := range urls.AsValueMap() {
			args.URLs[k] = v.AsString()
		}
	}
	expect, _ := newExpectation(args.ExpectStatus, nil)
	var changes []string
	for _, name := range slices.Sorted(maps.Keys(args.URLs)) {
		changes = append(changes, fmt.Sprintf("GET %s until %s (%s)", args.URLs[name], expect.statusText(), name))
	}
	return &sdk.PlanResponse{Changes: changes}, nil
}

func (c *check) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	var args checkArgs
	if resp, err := decodeArgs(ctx, c, req, &args); resp != nil || err != nil {
		return resp, err
	}
	ch, err := args.checker(req.Target, req.UI)
	if err != nil {
		return nil, err
	}
	defer ch.client.CloseIdleConnections()

	results := ch.checkAll(ctx, args.URLs)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("health check stopped: %w", context.Cause(ctx))
	}
	if err := unhealthyError(results, ch.deadline); err != nil {
		return nil, err
	}
	out := checkOutputs{Healthy: map[string]bool{}, Attempts: map[string]int{}, Status: map[string]int{}}
	for name, r := range results {
		out.Healthy[name], out.Attempts[name], out.Status[name] = r.healthy, r.attempts, r.status
	}
	v, err := sdk.ToValue(out, c.schema.OutputsType())
	if err != nil {
		return nil, err
	}
	return &sdk.RunResponse{Outputs: v}, nil
}

// checker polls URLs until they answer as expected.
type checker struct {
	client         *http.Client
	ui             sdk.UI
	expect         expectation
	interval       time.Duration
	deadline       time.Duration
	requestTimeout time.Duration
}

func (a *checkArgs) checker(target sdk.Target, ui sdk.UI) (*checker, error) {
	ch := &checker{ui: ui}
	var err error
	if ch.interval, err = durationOr("interval", a.Interval, defaultInterval); err != nil {
		return nil, err
	}
	if ch.deadline, err = durationOr("deadline", a.Deadline, defaultDeadline); err != nil {
		return nil, err
	}
	if ch.requestTimeout, err = durationOr("request_timeout", a.RequestTimeout, defaultProbeTimeout); err != nil {
		return nil, err
	}
	if ch.expect, err = newExpectation(a.ExpectStatus, a.ExpectBody); err != nil {
		return nil, err
	}
	ch.client = newClient(target, a.InsecureSkipVerify)
	return ch, nil
}

// urlResult is where one URL ended up.
type urlResult struct {
	healthy  bool
	attempts int
	status   int
	reason   string // why the last attempt failed
}

// checkAll checks every URL concurrently and reports progress as they
// become healthy.
func (c *checker) checkAll(ctx context.Context, urls map[string]string) map[string]urlResult {
	total := int64(len(urls))
	c.ui.Progress(0, total, fmt.Sprintf("checking %d URLs", total))
	var (
		mu      sync.Mutex
		results = make(map[string]urlResult, len(urls))
		healthy int64
		wg      sync.WaitGroup
	)
	for name, u := range urls {
		wg.Go(func() {
			r := c.watch(ctx, name, u)
			mu.Lock()
			defer mu.Unlock()
			results[name] = r
			if r.healthy {
				healthy++
				c.ui.Progress(healthy, total, name+" healthy")
			}
		})
	}
	wg.Wait()
	return results
}

// watch retries one URL until it is healthy, its deadline passes or ctx
// ends.
func (c *checker) watch(ctx context.Context, name, u string) urlResult {
	deadline := time.Now().Add(c.deadline)
	var r urlResult
	for {
		r.attempts++
		status, took, reason := c.probe(ctx, u)
		r.status, r.reason = status, reason
		if reason == "" {
			r.healthy = true
			c.ui.Logf("✓ %s healthy (%d in %s)", name, status, milliseconds(took))
			return r
		}
		if ctx.Err() != nil {
			return r
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			c.ui.Logf("✗ %s unhealthy (%s), giving up after %d attempts", name, reason, r.attempts)
			return r
		}
		wait := min(c.interval, remaining)
		c.ui.Logf("… %s not ready (%s), retrying in %s", name, reason, milliseconds(wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return r
		case <-t.C:
		}
	}
}

// probe sends one GET and returns the status, how long it took and why it
// is not healthy ("" when it is).
func (c *checker) probe(ctx context.Context, u string) (status int, took time.Duration, reason string) {
	reqCtx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err.Error()
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, time.Since(start), describeErr(err, reqCtx, c.requestTimeout)
	}
	var body []byte
	if c.expect.needsBody() {
		body, err = readBody(resp)
	} else {
		// Drain a little so the connection can be reused.
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	took = time.Since(start)
	if err != nil {
		return resp.StatusCode, took, "reading the body: " + describeErr(err, reqCtx, c.requestTimeout)
	}
	return resp.StatusCode, took, c.expect.check(resp.StatusCode, body)
}

// unhealthyError names every URL that never became healthy, or returns nil.
func unhealthyError(results map[string]urlResult, deadline time.Duration) error {
	var bad []string
	for _, name := range slices.Sorted(maps.Keys(results)) {
		if r := results[name]; !r.healthy {
			bad = append(bad, fmt.Sprintf("%s (%s; %d attempts)", name, r.reason, r.attempts))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d URLs not healthy within %s: %s", len(bad), len(results), deadline, strings.Join(bad, ", "))
}

// Interface guards
var (
	_ sdk.Action    = (*check)(nil)
	_ sdk.Validator = (*check)(nil)
	_ sdk.Planner   = (*check)(nil)
)
