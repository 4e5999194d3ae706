package http

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// echoServer answers with the request's method, Host, X-Token header and
// body, or with the status and body its query asks for.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Has("big"):
			_, _ = io.WriteString(w, strings.Repeat("x", 2*MaxBody))
		case q.Has("hang"):
			<-r.Context().Done()
		case q.Has("status"):
			w.WriteHeader(map[string]int{"404": 404, "201": 201, "500": 500}[q.Get("status")])
			_, _ = io.WriteString(w, "reason: "+q.Get("status")+"\n")
		default:
			body, _ := io.ReadAll(r.Body)
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			_, _ = io.WriteString(w, r.Method+" "+r.Host+" "+r.Header.Get("X-Token")+" "+string(body))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRequest(t *testing.T) {
	srv := echoServer(t)
	tests := map[string]struct {
		args     map[string]cty.Value
		wantBody string
		status   int
	}{
		"get": {
			args:     map[string]cty.Value{"url": cty.StringVal(srv.URL)},
			wantBody: "GET " + srv.Listener.Addr().String() + "  ",
			status:   200,
		},
		"post with headers and body": {
			args: map[string]cty.Value{
				"url":     cty.StringVal(srv.URL + "/items"),
				"method":  cty.StringVal("post"),
				"headers": strMap(map[string]string{"X-Token": "s3cret", "Host": "api.example"}),
				"body":    cty.StringVal(`{"a":1}`),
			},
			wantBody: `POST api.example s3cret {"a":1}`,
			status:   200,
		},
		"expected status": {
			args:     map[string]cty.Value{"url": cty.StringVal(srv.URL + "?status=404"), "expect_status": numList(404)},
			wantBody: "reason: 404\n",
			status:   404,
		},
		"expected body": {
			args:     map[string]cty.Value{"url": cty.StringVal(srv.URL), "expect_body": cty.StringVal(`^GET \S+`)},
			wantBody: "GET " + srv.Listener.Addr().String() + "  ",
			status:   200,
		},
		"body limited": {
			args:     map[string]cty.Value{"url": cty.StringVal(srv.URL + "?big")},
			wantBody: strings.Repeat("x", MaxBody),
			status:   200,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ui, log := newUI()
			out, err := run(t.Context(), t, "request", args("request", tc.args), ui)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantBody, out.GetAttr("body").AsString()); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := out.GetAttr("status"); !got.RawEquals(cty.NumberIntVal(int64(tc.status))) {
				t.Errorf("status = %#v, want %d", got, tc.status)
			}
			if ms := out.GetAttr("duration_ms"); ms.IsNull() || ms.AsBigFloat().Sign() < 0 {
				t.Errorf("duration_ms = %#v", ms)
			}
			if !strings.Contains(log(), "→ "+out.GetAttr("status").AsBigFloat().String()) {
				t.Errorf("log %q does not report the status", log())
			}
		})
	}
}

func TestRequestHeadersOutput(t *testing.T) {
	srv := echoServer(t)
	out, err := run(t.Context(), t, "request", args("request", map[string]cty.Value{"url": cty.StringVal(srv.URL)}), sdktest.NewUI(local.Target(), sdk.RunInfo{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.GetAttr("headers").Index(cty.StringVal("X-Multi")); !got.RawEquals(cty.StringVal("a, b")) {
		t.Errorf("X-Multi = %#v", got)
	}
}

func TestRequestFails(t *testing.T) {
	srv := echoServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := map[string]struct {
		args map[string]cty.Value
		want []string
	}{
		"unexpected status": {
			args: map[string]cty.Value{"url": cty.StringVal(srv.URL + "?status=500")},
			want: []string{"status 500, expected 2xx", "reason: 500"},
		},
		"status not among expected": {
			args: map[string]cty.Value{"url": cty.StringVal(srv.URL + "?status=201"), "expect_status": numList(200, 204)},
			want: []string{"status 201, expected 200 or 204"},
		},
		"body mismatch": {
			args: map[string]cty.Value{"url": cty.StringVal(srv.URL), "expect_body": cty.StringVal("^ready$")},
			want: []string{`body does not match "^ready$"`, "body: GET"},
		},
		"timeout": {
			args: map[string]cty.Value{"url": cty.StringVal(srv.URL + "?hang"), "request_timeout": cty.StringVal("50ms")},
			want: []string{"no answer within 50ms"},
		},
		"connection refused": {
			args: map[string]cty.Value{"url": cty.StringVal(closed)},
			want: []string{"GET " + closed, "connection refused"},
		},
		"password redacted": {
			args: map[string]cty.Value{"url": cty.StringVal(strings.Replace(closed, "//", "//ops:hunter2@", 1))},
			want: []string{"//ops:xxxxx@"},
		},
		"invalid url at run time": {
			args: map[string]cty.Value{"url": cty.StringVal("ftp://x")},
			want: []string{"Invalid URL"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := run(t.Context(), t, "request", args("request", tc.args), sdktest.NewUI(local.Target(), sdk.RunInfo{}))
			if err == nil {
				t.Fatal("request succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRequestValidate(t *testing.T) {
	url := cty.GetAttrPath("url")
	tests := map[string]struct {
		args map[string]cty.Value
		want []diag
	}{
		"ok":          {args: map[string]cty.Value{"url": cty.StringVal("https://example.com/x"), "request_timeout": cty.StringVal("1m")}},
		"unknown url": {args: map[string]cty.Value{"url": cty.UnknownVal(cty.String)}},
		"no scheme":   {args: map[string]cty.Value{"url": cty.StringVal("localhost:8080")}, want: []diag{{"Invalid URL", url}}},
		"no host":     {args: map[string]cty.Value{"url": cty.StringVal("http:///x")}, want: []diag{{"Invalid URL", url}}},
		"unparseable": {args: map[string]cty.Value{"url": cty.StringVal("http://a b\x7f")}, want: []diag{{"Invalid URL", url}}},
		"bad timeout": {
			args: map[string]cty.Value{"url": cty.StringVal("http://x"), "request_timeout": cty.StringVal("10")},
			want: []diag{{"Invalid duration", cty.GetAttrPath("request_timeout")}},
		},
		"negative timeout": {
			args: map[string]cty.Value{"url": cty.StringVal("http://x"), "request_timeout": cty.StringVal("-1s")},
			want: []diag{{"Invalid duration", cty.GetAttrPath("request_timeout")}},
		},
		"bad status": {
			args: map[string]cty.Value{"url": cty.StringVal("http://x"), "expect_status": cty.ListVal([]cty.Value{
				cty.NumberIntVal(200), cty.NumberIntVal(99), cty.NumberFloatVal(200.5), cty.UnknownVal(cty.Number),
			})},
			want: []diag{{"Invalid status code", cty.GetAttrPath("expect_status").IndexInt(1)}, {"Invalid status code", cty.GetAttrPath("expect_status").IndexInt(2)}},
		},
		"bad regex": {
			args: map[string]cty.Value{"url": cty.StringVal("http://x"), "expect_body": cty.StringVal("(")},
			want: []diag{{"Invalid regular expression", cty.GetAttrPath("expect_body")}},
		},
		"empty method": {
			args: map[string]cty.Value{"url": cty.StringVal("http://x"), "method": cty.StringVal("")},
			want: []diag{{"Empty method", cty.GetAttrPath("method")}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := diffDiags(tc.want, validate(t, "request", args("request", tc.args))); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
	if got := validate(t, "request", cty.UnknownVal(newRequest().Schema().ArgsType())); got != nil {
		t.Errorf("unknown arguments: %v", got)
	}
}

func TestRequestPlan(t *testing.T) {
	tests := map[string]struct {
		args map[string]cty.Value
		want string
	}{
		"get":     {args: map[string]cty.Value{"url": cty.StringVal("http://x/health")}, want: "GET http://x/health"},
		"post":    {args: map[string]cty.Value{"url": cty.StringVal("http://x"), "method": cty.StringVal("post")}, want: "POST http://x"},
		"unknown": {args: map[string]cty.Value{"url": cty.UnknownVal(cty.String)}, want: "GET (known at run time)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, _, err := sdk.InProcess(Plugin()).PlanAction(t.Context(), "request", &sdk.PlanRequest{Args: args("request", tc.args), Target: local.Target()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.want}, resp.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPluginSchema(t *testing.T) {
	p := Plugin()
	if p.Name != "http" || p.Version != Version {
		t.Errorf("plugin = %s %s", p.Name, p.Version)
	}
	s := p.Schema()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"check", "request"}, s.ActionNames()); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if a := s.Actions["check"].Arg("urls"); a == nil || !a.Required || !a.Type.Equals(cty.Map(cty.String)) {
		t.Errorf("check.urls = %+v", a)
	}
	if a := s.Actions["request"].Arg("url"); a == nil || !a.Required {
		t.Errorf("request.url = %+v", a)
	}
}
