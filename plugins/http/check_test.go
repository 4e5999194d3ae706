package http

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// flakyServer answers 503 ("starting") to its first failures requests, then
// 200 ("ok"); failures < 0 means never healthy. hits counts requests.
func flakyServer(t *testing.T, failures int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if failures < 0 || n <= failures {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "status: starting")
			return
		}
		_, _ = io.WriteString(w, "status: ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// fast are timings that keep retries quick in tests.
var fast = map[string]cty.Value{
	"interval":        cty.StringVal("10ms"),
	"deadline":        cty.StringVal("5s"),
	"request_timeout": cty.StringVal("1s"),
}

func checkArgsWith(urls map[string]string, extra map[string]cty.Value) cty.Value {
	set := map[string]cty.Value{"urls": strMap(urls)}
	for k, v := range fast {
		set[k] = v
	}
	for k, v := range extra {
		set[k] = v
	}
	return args("check", set)
}

func TestCheckHealthy(t *testing.T) {
	now, _ := flakyServer(t, 0)
	later, _ := flakyServer(t, 2)
	body, _ := flakyServer(t, -1)
	tests := map[string]struct {
		urls         map[string]string
		extra        map[string]cty.Value
		wantAttempts map[string]int64
		wantStatus   map[string]int64
		wantLogs     []string
	}{
		"healthy at once": {
			urls:         map[string]string{"gateway": now.URL},
			wantAttempts: map[string]int64{"gateway": 1},
			wantStatus:   map[string]int64{"gateway": 200},
			wantLogs:     []string{"✓ gateway healthy (200 in "},
		},
		"healthy after retries": {
			urls:         map[string]string{"calc": later.URL},
			wantAttempts: map[string]int64{"calc": 3},
			wantStatus:   map[string]int64{"calc": 200},
			wantLogs: []string{
				"… calc not ready (status 503, expected 2xx), retrying in 10ms",
				"✓ calc healthy (200 in ",
			},
		},
		"expected status and body": {
			urls: map[string]string{"db": body.URL},
			extra: map[string]cty.Value{
				"expect_status": numList(503),
				"expect_body":   cty.StringVal("starting$"),
			},
			wantAttempts: map[string]int64{"db": 1},
			wantStatus:   map[string]int64{"db": 503},
		},
		"no urls": {
			urls:         map[string]string{},
			wantAttempts: map[string]int64{},
			wantStatus:   map[string]int64{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ui, log := newUI()
			out, err := run(t.Context(), t, "check", checkArgsWith(tc.urls, tc.extra), ui)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]int64{"attempts": {}, "status": {}}
			for kind := range got {
				for k, v := range out.GetAttr(kind).AsValueMap() {
					got[kind][k], _ = v.AsBigFloat().Int64()
				}
			}
			if diff := cmp.Diff(map[string]map[string]int64{"attempts": tc.wantAttempts, "status": tc.wantStatus}, got); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			for k, v := range out.GetAttr("healthy").AsValueMap() {
				if v.False() {
					t.Errorf("healthy[%s] = false", k)
				}
			}
			for _, w := range tc.wantLogs {
				if !strings.Contains(log(), w) {
					t.Errorf("log lacks %q:\n%s", w, log())
				}
			}
		})
	}
}

func TestCheckUnhealthy(t *testing.T) {
	good, _ := flakyServer(t, 0)
	bad, badHits := flakyServer(t, -1)
	refused := closedURL(t)
	ui, log := newUI()
	_, err := run(t.Context(), t, "check", checkArgsWith(
		map[string]string{"gateway": good.URL, "calc": bad.URL, "db": refused},
		map[string]cty.Value{"deadline": cty.StringVal("200ms")},
	), ui)
	if err == nil {
		t.Fatal("check succeeded")
	}
	for _, w := range []string{"2 of 3 URLs not healthy within 200ms", "calc (status 503, expected 2xx;", "db (connection refused;"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "gateway") {
		t.Errorf("error %q names the healthy URL", err)
	}
	if n := badHits.Load(); n < 2 {
		t.Errorf("unhealthy URL tried %d times, want retries", n)
	}
	for _, w := range []string{"… db not ready (connection refused), retrying in", "✗ calc unhealthy (status 503, expected 2xx), giving up after"} {
		if !strings.Contains(log(), w) {
			t.Errorf("log lacks %q:\n%s", w, log())
		}
	}
	wantProgress := []sdktest.Progress{{Done: 0, Total: 3, Message: "checking 3 URLs"}, {Done: 1, Total: 3, Message: "gateway healthy"}}
	if diff := cmp.Diff(wantProgress, ui.Record().Progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}

func TestCheckIsConcurrent(t *testing.T) {
	// Each server answers only once all of them have been asked: checked
	// one after another, the first would time out and be retried.
	const n = 4
	var arrived sync.WaitGroup
	arrived.Add(n)
	allThere := make(chan struct{})
	go func() { arrived.Wait(); close(allThere) }()
	urls := map[string]string{}
	for i := range n {
		var once sync.Once
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once.Do(arrived.Done)
			select {
			case <-allThere:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		urls[string(rune('a'+i))] = srv.URL
	}
	ui, _ := newUI()
	out, err := run(t.Context(), t, "check", checkArgsWith(urls, map[string]cty.Value{
		"interval": cty.StringVal("10ms"), "request_timeout": cty.StringVal("300ms"), "deadline": cty.StringVal("2s"),
	}), ui)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range out.GetAttr("attempts").AsValueMap() {
		if !v.RawEquals(cty.NumberIntVal(1)) {
			t.Errorf("%s took %#v attempts, want 1 (URLs checked one at a time?)", name, v)
		}
	}
	if p := ui.Record().Progress; p[len(p)-1].Done != 4 || p[len(p)-1].Total != 4 {
		t.Errorf("progress = %+v, want it to end at 4/4", p)
	}
}

func TestCheckCancel(t *testing.T) {
	bad, hits := flakyServer(t, -1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for hits.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := run(ctx, t, "check", checkArgsWith(map[string]string{"calc": bad.URL}, map[string]cty.Value{
		"interval": cty.StringVal("1m"), "deadline": cty.StringVal("5m"),
	}), sdktest.NewUI(local.Target(), sdk.RunInfo{}))
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("err = %v, want a cancellation", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled check took %v", d)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestCheckValidate(t *testing.T) {
	urls := cty.GetAttrPath("urls")
	tests := map[string]struct {
		args map[string]cty.Value
		want []diag
	}{
		"ok": {args: map[string]cty.Value{"urls": strMap(map[string]string{"a": "http://a:1/x"})}},
		"unknown url": {args: map[string]cty.Value{"urls": cty.MapVal(map[string]cty.Value{
			"a": cty.UnknownVal(cty.String), "b": cty.StringVal("https://b"),
		})}},
		"bad urls": {
			args: map[string]cty.Value{"urls": strMap(map[string]string{"good": "http://a", "calc": "calc:8080", "db": "postgres://db"})},
			want: []diag{{"Invalid URL", urls.IndexString("calc")}, {"Invalid URL", urls.IndexString("db")}},
		},
		"bad durations": {
			args: map[string]cty.Value{
				"urls": strMap(map[string]string{"a": "http://a"}), "interval": cty.StringVal("5"),
				"deadline": cty.StringVal("0s"), "request_timeout": cty.StringVal("soon"),
			},
			want: []diag{
				{"Invalid duration", cty.GetAttrPath("interval")},
				{"Invalid duration", cty.GetAttrPath("deadline")},
				{"Invalid duration", cty.GetAttrPath("request_timeout")},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := diffDiags(tc.want, validate(t, "check", args("check", tc.args))); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckPlan(t *testing.T) {
	tests := map[string]struct {
		args map[string]cty.Value
		want []string
	}{
		"known": {
			args: map[string]cty.Value{"urls": strMap(map[string]string{"b": "http://b/health", "a": "http://a"}), "expect_status": numList(200)},
			want: []string{"GET http://a until 200 (a)", "GET http://b/health until 200 (b)"},
		},
		"unknown status": {
			args: map[string]cty.Value{"urls": strMap(map[string]string{"a": "http://a"}), "expect_status": cty.UnknownVal(cty.List(cty.Number))},
			want: []string{"GET http://a until 2xx (a)"},
		},
		"unknown urls": {
			args: map[string]cty.Value{"urls": cty.UnknownVal(cty.Map(cty.String))},
			want: []string{"check URLs (known at run time)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, _, err := sdk.InProcess(Plugin()).PlanAction(t.Context(), "check", &sdk.PlanRequest{Args: args("check", tc.args), Target: local.Target()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, resp.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckOverGRPC(t *testing.T) {
	srv, _ := flakyServer(t, 1)
	res := sdktest.Run(t, Plugin(), "check", checkArgsWith(map[string]string{"api": srv.URL}, nil),
		sdktest.WithTarget(local.Target()), sdktest.OverGRPC())
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs.GetAttr("attempts").Index(cty.StringVal("api")); !got.RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("attempts = %#v, want 2", got)
	}
	if len(res.Logs) != 2 || !strings.HasPrefix(res.Logs[1], "✓ api healthy (200 in ") {
		t.Errorf("logs = %q", res.Logs)
	}
}
