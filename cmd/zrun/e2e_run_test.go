package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHealthCheck runs the shipped health-check workflow against five
// loopback servers, one of them slow to come up, then with one down.
func TestHealthCheck(t *testing.T) {
	t.Parallel()
	dir := project(t, "healthcheck")
	wf, err := os.ReadFile(filepath.Join(repoRoot, "workflows", "health-check.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "workflows", "health-check.hcl"), string(wf))

	names := []string{"gateway", "calc", "risk", "doc", "billing"}
	servers := map[string]*httptest.Server{}
	var riskHits atomic.Int32
	var env strings.Builder
	// The shipped workflow checks where env.docker.target says the stack runs.
	env.WriteString("environment \"test\" {\n  docker = { target = \"local\" }\n  services = {\n")
	for _, name := range names {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health" {
				http.NotFound(w, r)
				return
			}
			if name == "risk" && riskHits.Add(1) <= 2 {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, `{"service":%q,"status":"ok"}`, name)
		}))
		t.Cleanup(srv.Close)
		servers[name] = srv
		fmt.Fprintf(&env, "    %s = { url = %q }\n", name, srv.URL)
	}
	env.WriteString("  }\n}\n")
	writeFile(t, filepath.Join(dir, "environments", "test.hcl"), env.String())

	run := func(t *testing.T, extra ...string) result {
		t.Helper()
		args := append([]string{"workflow", "health-check", "--env", "test", "--param", "interval=50ms"}, extra...)
		return zrun(t, dir, nil, args...)
	}

	t.Run("json", func(t *testing.T) {
		r := run(t, "--output", "json")
		wantCode(t, r, 0)
		evs := parseEvents(t, r.stdout)
		var ok []string
		for _, e := range evs {
			if e.Type == "step_finished" && e.Status == "ok" {
				ok = append(ok, e.Step)
			}
		}
		sort.Strings(ok)
		want := []string{`step.service["billing"]`, `step.service["calc"]`, `step.service["doc"]`, `step.service["gateway"]`, `step.service["risk"]`}
		if strings.Join(ok, " ") != strings.Join(want, " ") {
			t.Errorf("steps ok = %v, want %v", ok, want)
		}
		if e := runFinished(t, evs); e.Status != "ok" {
			t.Errorf("run_finished = %+v", e)
		}
		risk, _ := stepEvent(evs, "step_finished", `step.service["risk"]`)
		if attempts, _ := risk.Outputs["attempts"].(map[string]any); attempts["risk"] != 3.0 {
			t.Errorf("risk took attempts %v, want 3 (two 503s first); outputs %v", risk.Outputs["attempts"], risk.Outputs)
		}
		if n := riskHits.Load(); n < 3 {
			t.Errorf("risk was asked %d times, want at least 3", n)
		}
	})

	t.Run("plain", func(t *testing.T) {
		r := run(t)
		wantCode(t, r, 0)
		stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `)
		events, _, _ := strings.Cut(r.stdout, "\n\n")
		for _, line := range strings.Split(events, "\n") {
			if !stamp.MatchString(line) {
				t.Errorf("line without a timestamp: %q", line)
			}
		}
		wantContains(t, "stdout", r.stdout, `step.service["calc"] ok`, "workflow health-check, environment test", "Outputs:", `"risk":true`)
		if !regexp.MustCompile(`\nRun \S+ ok in \S+: 5 ok\.\n`).MatchString(r.stdout) {
			t.Errorf("no summary line:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("escape codes without a terminal:\n%q", r.stdout)
		}
	})

	t.Run("one down", func(t *testing.T) {
		servers["calc"].Close()
		r := run(t, "--param", "timeout=1s")
		wantCode(t, r, 4)
		wantContains(t, "stdout", r.stdout, `step.service["calc"] failed`, "Run ", " failed in ", "4 ok, 1 failed")
		for _, name := range names {
			if name != "calc" && strings.Contains(r.stdout, fmt.Sprintf("step.service[%q] failed", name)) {
				t.Errorf("%s reported failed:\n%s", name, r.stdout)
			}
		}
		failLine := ""
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, `step.service["calc"] failed`) {
				failLine = l
			}
		}
		wantContains(t, "the failure", failLine, "not healthy within 1s: calc (", "connection refused")
		wantContains(t, "stdout", r.stdout, "Error: step.service: ", "within 1s: calc (")
	})
}

// TestSensitiveParam checks that a sensitive param's value appears in no
// output, even when a failing step prints it.
func TestSensitiveParam(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			t.Parallel()
			dir := project(t, "basic")
			r := zrun(t, dir, nil, "workflow", "secret", "--param", "token="+secret, "--output", output)
			wantCode(t, r, 4)
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("the secret shows:\n%s", r)
			}
			wantContains(t, "stdout", r.stdout, "(sensitive)", "step.leak")
			if output == "json" {
				evs := parseEvents(t, r.stdout)
				if e, _ := stepEvent(evs, "step_finished", "step.leak"); e.Status != "failed" {
					t.Errorf("step.leak finished %+v", e)
				}
				if p := evs[0].Params["token"]; p != "(sensitive)" {
					t.Errorf("run_started params = %v", evs[0].Params)
				}
			}
		})
	}
}

// TestParallelism runs six independent half-second steps and measures,
// from the times they record, how many ran at once.
func TestParallelism(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args          []string
		atMost, least int
	}{
		"--parallelism 2": {[]string{"--parallelism", "2"}, 2, 2},
		"default":         {nil, 6, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := project(t, "basic")
			r := zrun(t, dir, nil, append([]string{"workflow", "parallel"}, tc.args...)...)
			wantCode(t, r, 0)
			data, err := os.ReadFile(filepath.Join(dir, "times.txt"))
			if err != nil {
				t.Fatal(err)
			}
			n := maxOverlap(t, string(data))
			if n > tc.atMost || n < tc.least {
				t.Errorf("%d steps ran at once, want %d to %d; times:\n%s", n, tc.least, tc.atMost, data)
			}
		})
	}
}

// maxOverlap reads "START END" lines (nanoseconds) and returns the largest
// number of intervals open at once; an interval ending when another starts
// does not overlap it.
func maxOverlap(t *testing.T, times string) int {
	t.Helper()
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	lines := strings.Split(strings.TrimSpace(times), "\n")
	if len(lines) != 6 {
		t.Fatalf("want 6 lines, got %d:\n%s", len(lines), times)
	}
	for _, l := range lines {
		var start, end int64
		f := strings.Fields(l)
		if len(f) == 2 {
			start, _ = strconv.ParseInt(f[0], 10, 64)
			end, _ = strconv.ParseInt(f[1], 10, 64)
		}
		if start == 0 || end <= start {
			t.Fatalf("bad line %q", l)
		}
		edges = append(edges, edge{start, 1}, edge{end, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta
	})
	open, most := 0, 0
	for _, e := range edges {
		open += e.delta
		most = max(most, open)
	}
	return most
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
