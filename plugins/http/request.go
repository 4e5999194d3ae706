package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/schema"
)

type requestArgs struct {
	URL                string            `zrun:"url" help:"The URL to request, http:// or https://."`
	Method             *string           `zrun:"method" help:"The HTTP method. Default: GET."`
	Headers            map[string]string `zrun:"headers,optional" help:"Request headers."`
	Body               *string           `zrun:"body" help:"The request body."`
	ExpectStatus       []int             `zrun:"expect_status,optional" help:"Status codes that count as success. Default: any 2xx."`
	ExpectBody         *string           `zrun:"expect_body" help:"A regular expression (RE2) the response body must match."`
	RequestTimeout     *string           `zrun:"request_timeout" help:"How long the whole request may take. Default: \"10s\"."`
	InsecureSkipVerify bool              `zrun:"insecure_skip_verify,optional" help:"Accept any TLS certificate. Only for test services with self-signed certificates."`
}

type requestOutputs struct {
	Status     int               `zrun:"status" help:"The response's status code."`
	Body       string            `zrun:"body" help:"The response body (its first MiB)."`
	Headers    map[string]string `zrun:"headers" help:"Response headers; repeated ones are joined with \", \"."`
	DurationMS int64             `zrun:"duration_ms" help:"How long the request took, in milliseconds."`
}

const defaultRequestTimeout = 10 * time.Second

// request is the http.request action.
type request struct {
	schema *schema.Action
}

func newRequest() *request {
	return &request{schema: sdk.NewAction[requestArgs, requestOutputs]("request",
		"Send one HTTP request from the step's target and check the status (and optionally the body) of the answer.",
		nil).Schema()}
}

func (r *request) Schema() *schema.Action { return r.schema }

func (r *request) Validate(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if u, ok := known(req.Args, "url"); ok {
		diags = append(diags, validateURLArg(u, cty.GetAttrPath("url"))...)
	}
	if m, ok := known(req.Args, "method"); ok && m.AsString() == "" {
		diags = diags.Errorf(cty.GetAttrPath("method"), "Empty method", `Set method to an HTTP method such as "GET" or "POST", or leave it out for GET.`)
	}
	diags = append(diags, validateDurations(req.Args, "request_timeout")...)
	return append(diags, validateExpect(req.Args)...)
}

func (r *request) Plan(_ context.Context, req *sdk.PlanRequest) (*sdk.PlanResponse, error) {
	method, target := "GET", "(known at run time)"
	if m, ok := known(req.Args, "method"); ok {
		method = strings.ToUpper(m.AsString())
	}
	if u, ok := known(req.Args, "url"); ok {
		target = u.AsString()
	}
	return &sdk.PlanResponse{Changes: []string{method + " " + target}}, nil
}

func (r *request) Run(ctx context.Context, req *sdk.RunRequest) (*sdk.RunResponse, error) {
	var args requestArgs
	if resp, err := decodeArgs(ctx, r, req, &args); resp != nil || err != nil {
		return resp, err
	}
	timeout, err := durationOr("request_timeout", args.RequestTimeout, defaultRequestTimeout)
	if err != nil {
		return nil, err
	}
	expect, err := newExpectation(args.ExpectStatus, args.ExpectBody)
	if err != nil {
		return nil, err
	}
	hreq, err := args.newRequest(ctx)
	if err != nil {
		return nil, err
	}
	client := newClient(req.Target, args.InsecureSkipVerify)
	defer client.CloseIdleConnections()
	what := hreq.Method + " " + hreq.URL.Redacted() // no password in logs

	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	resp, err := client.Do(hreq.WithContext(reqCtx))
	if err != nil {
		return nil, fmt.Errorf("%s: %s", what, describeErr(err, reqCtx, timeout))
	}
	body, err := readBody(resp)
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the body: %s", what, describeErr(err, reqCtx, timeout))
	}
	req.UI.Logf("%s → %d in %s", what, resp.StatusCode, milliseconds(elapsed))
	if reason := expect.check(resp.StatusCode, body); reason != "" {
		msg := what + ": " + reason
		if ex := excerpt(body); ex != "" {
			msg += "; body: " + ex
		}
		return nil, errors.New(msg)
	}
	return &sdk.RunResponse{Outputs: cty.ObjectVal(map[string]cty.Value{
		"status":      cty.NumberIntVal(int64(resp.StatusCode)),
		"body":        cty.StringVal(strings.ToValidUTF8(string(body), "\uFFFD")),
		"headers":     headerMap(resp.Header),
		"duration_ms": cty.NumberIntVal(elapsed.Milliseconds()),
	})}, nil
}

func (a *requestArgs) newRequest(ctx context.Context) (*http.Request, error) {
	method := http.MethodGet
	if a.Method != nil {
		method = strings.ToUpper(*a.Method)
	}
	var body io.Reader
	if a.Body != nil {
		body = strings.NewReader(*a.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, a.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, a.URL, err)
	}
	for k, v := range a.Headers {
		if strings.EqualFold(k, "Host") {
			hreq.Host = v
			continue
		}
		hreq.Header.Set(k, v)
	}
	return hreq, nil
}

// headerMap flattens response headers into a map(string).
func headerMap(h http.Header) cty.Value {
	if len(h) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	m := make(map[string]cty.Value, len(h))
	for k, vs := range h {
		m[k] = cty.StringVal(strings.ToValidUTF8(strings.Join(vs, ", "), "\uFFFD"))
	}
	return cty.MapVal(m)
}

// Interface guards
var (
	_ sdk.Action    = (*request)(nil)
	_ sdk.Validator = (*request)(nil)
	_ sdk.Planner   = (*request)(nil)
)
