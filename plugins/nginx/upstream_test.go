package nginx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// load sends GET requests to url from a few clients, continuously, until
// stopped; it counts the answers by body and every failure.
type load struct {
	mu       sync.Mutex
	served   map[string]int
	failures []string
	last     atomic.Value // the body of the latest answer
	stop     context.CancelFunc
	done     sync.WaitGroup
}

func startLoad(t *testing.T, url string, clients int) *load {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	l := &load{served: map[string]int{}, stop: cancel}
	l.last.Store("")
	for range clients {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				resp, err := c.Do(req)
				if ctx.Err() != nil {
					return
				}
				l.record(resp, err)
			}
		}()
	}
	return l
}

func (l *load) record(resp *http.Response, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures = append(l.failures, err.Error())
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		l.failures = append(l.failures, fmt.Sprintf("%s %q %v", resp.Status, b, err))
		return
	}
	l.served[string(b)]++
	l.last.Store(string(b))
}

func (l *load) end() (map[string]int, []string) {
	l.stop()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.served, l.failures
}

// waitServed waits until the load's answers come from name.
func (l *load) waitServed(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); l.last.Load() != name; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the load is still answered by %q, not %q", l.last.Load(), name)
		}
	}
}

// TestUpstreamSwitch is the zero-downtime proof: nginx.upstream moves
// an upstream between two backends, and back, while clients send
// requests continuously; not one request fails, and once the step ends
// a new connection reaches the new backend.
func TestUpstreamSwitch(t *testing.T) {
	n := startNginx(t)
	blue, green := newBackend(t, "blue"), newBackend(t, "green")
	port := freePort(t)
	upstreamFile := filepath.Join(n.confd, "app.upstream.conf")
	point := func(b *backend) *result {
		t.Helper()
		return n.run(t, "upstream", map[string]any{"path": upstreamFile, "name": "app", "servers": []string{b.hostPort()}, "keepalive": 4}).ok(t)
	}
	res := point(blue)
	if !res.boolean("changed") || len(res.strs("previous")) != 0 || !slices.Equal(res.strs("servers"), []string{blue.hostPort()}) {
		t.Fatalf("first upstream: %#v", res.outputs)
	}
	n.run(t, "site", n.conn(map[string]any{"path": filepath.Join(n.confd, "site.conf"), "servers": val(list{obj{
		"listen":    list{fmt.Sprintf("127.0.0.1:%d", port)},
		"locations": list{obj{"path": "/", "proxy_pass": "http://app"}},
	}})})).ok(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	fresh := func() string {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	l := startLoad(t, url, 4)
	l.waitServed(t, "blue")
	var took []time.Duration
	for _, to := range []*backend{green, blue, green, blue} {
		from := blue
		if to == blue {
			from = green
		}
		start := time.Now()
		res := point(to)
		took = append(took, time.Since(start))
		if !res.boolean("changed") || !slices.Equal(res.strs("previous"), []string{from.hostPort()}) {
			t.Errorf("switch to %s: %#v", to.name, res.outputs)
		}
		if got := fresh(); got != to.name {
			t.Errorf("after the switch to %s a new connection reached %q", to.name, got)
		}
		l.waitServed(t, to.name)
		time.Sleep(100 * time.Millisecond)
	}
	served, failures := l.end()
	if len(failures) > 0 {
		t.Errorf("%d requests failed across the switches, e.g. %s", len(failures), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	if served["blue"] == 0 || served["green"] == 0 {
		t.Errorf("served %v", served)
	}
	t.Logf("served %v with %d failures; nginx.upstream switches took %v", served, len(failures), took)

	// The same servers again: no change, no reload; nor with create_only
	// and other servers, since the file exists.
	workers := n.workers(t)
	if res := point(blue); res.boolean("changed") || !slices.Equal(workers, n.workers(t)) {
		t.Errorf("the same upstream again changed it or reloaded nginx: %#v", res.outputs)
	}
	res = n.run(t, "upstream", map[string]any{"path": upstreamFile, "name": "app", "servers": []string{green.hostPort()}, "create_only": true}).ok(t)
	if res.boolean("changed") || !slices.Equal(res.strs("servers"), []string{blue.hostPort()}) || !slices.Equal(workers, n.workers(t)) {
		t.Errorf("create_only on an existing upstream: %#v", res.outputs)
	}
}

// TestUpstreamConcurrent: two steps of one run change two upstreams of
// one nginx at once (the proxy workflow's two upstream steps); they take
// turns, and both changes are served.
func TestUpstreamConcurrent(t *testing.T) {
	n := startNginx(t)
	target := local.Target() // one run: one Target value for both steps
	backends := map[string]*backend{"one": newBackend(t, "one"), "two": newBackend(t, "two")}
	ports := map[string]int{}
	for name, b := range backends {
		n.run(t, "upstream", map[string]any{"path": filepath.Join(n.confd, name+".upstream.conf"), "name": name, "servers": []string{b.URL[len("http://"):]}}).ok(t)
		ports[name] = freePort(t)
		n.run(t, "site", n.conn(map[string]any{"path": filepath.Join(n.confd, name+".conf"), "servers": val(list{obj{
			"listen": list{fmt.Sprintf("127.0.0.1:%d", ports[name])}, "locations": list{obj{"path": "/", "proxy_pass": "http://" + name}},
		}})})).ok(t)
	}
	swapped := map[string]*backend{"one": backends["two"], "two": backends["one"]}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for name, b := range swapped {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := sdktest.Run(t, Plugin(), "upstream", n.conn(map[string]any{"path": filepath.Join(n.confd, name+".upstream.conf"), "name": name, "servers": []string{b.hostPort()}}), sdktest.WithTarget(target))
			errs <- res.Diagnostics.Err()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for name, b := range swapped {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[name]))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != b.name {
			t.Errorf("upstream %s answered by %q, want %q", name, body, b.name)
		}
	}
}

// TestTestAndReload: nginx.test passes a good configuration and fails a
// bad one with nginx's message; nginx.reload replaces the workers.
func TestTestAndReload(t *testing.T) {
	n := startNginx(t)
	if res := n.run(t, "test", nil).ok(t); !res.boolean("ok") {
		t.Errorf("test: %#v", res.outputs)
	}
	before := n.workers(t)
	res := n.run(t, "reload", nil).ok(t)
	var after []int
	for _, v := range res.outputs.GetAttr("workers").AsValueSlice() {
		i, _ := v.AsBigFloat().Int64()
		after = append(after, int(i))
	}
	if slices.Equal(before, n.workers(t)) || !slices.Equal(after, n.workers(t)) {
		t.Errorf("reload: workers %v -> %v (outputs %v)", before, n.workers(t), after)
	}
	if err := os.WriteFile(filepath.Join(n.confd, "bad.conf"), []byte("\n\nno_such_directive 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"test", "reload"} {
		err := n.run(t, action, nil).err()
		if err == nil || !strings.Contains(err.Error(), filepath.Join(n.confd, "bad.conf")+":3") {
			t.Errorf("%s of a bad config: %v", action, err)
		}
	}
}

// TestUpstreamDeploy is a deploy's traffic handover, three times over:
// each new version starts beside the old one, nginx.upstream moves the
// upstream to it and drains (waits until the old workers have finished
// their requests), then the old version stops. Under continuous load no
// request fails, and every version serves.
func TestUpstreamDeploy(t *testing.T) {
	n := startNginx(t)
	port := freePort(t)
	upstreamFile := filepath.Join(n.confd, "app.upstream.conf")
	current := newBackend(t, "v1")
	n.run(t, "upstream", map[string]any{"path": upstreamFile, "name": "app", "servers": []string{current.hostPort()}, "keepalive": 4}).ok(t)
	n.run(t, "site", n.conn(map[string]any{"path": filepath.Join(n.confd, "site.conf"), "servers": val(list{obj{
		"listen":    list{fmt.Sprintf("127.0.0.1:%d", port)},
		"locations": list{obj{"path": "/", "proxy_pass": "http://app"}},
	}})})).ok(t)

	l := startLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 4)
	l.waitServed(t, "v1")
	var took []time.Duration
	for _, version := range []string{"v2", "v3", "v4"} {
		next := newBackend(t, version)
		start := time.Now()
		res := n.run(t, "upstream", map[string]any{"path": upstreamFile, "name": "app", "servers": []string{next.hostPort()}, "keepalive": 4, "drain": "10s"}).ok(t)
		took = append(took, time.Since(start))
		if !res.boolean("changed") || !res.boolean("drained") || !slices.Equal(res.strs("previous"), []string{current.hostPort()}) {
			t.Errorf("switch to %s: %#v", version, res.outputs)
		}
		current.Close() // the old version stops: nothing may reach it any more
		current = next
		l.waitServed(t, version)
		time.Sleep(100 * time.Millisecond)
	}
	served, failures := l.end()
	if len(failures) > 0 {
		t.Errorf("%d requests failed across the deploys, e.g. %s", len(failures), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		if served[v] == 0 {
			t.Errorf("%s served nothing: %v", v, served)
		}
	}
	t.Logf("served %v with %d failures; switch and drain took %v", served, len(failures), took)
}
