package nginx

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type upstreamArgs struct {
	Path        string   `zrun:"path" help:"Absolute path of the upstream's own file on the target, included by the main configuration (e.g. \"/etc/nginx/conf.d/app.upstream.conf\"); nothing else is written there."`
	Name        string   `zrun:"name" help:"The upstream's name, as proxy_pass refers to it (proxy_pass http://NAME)."`
	Servers     []string `zrun:"servers" help:"The servers traffic goes to: \"host:port\", \"[v6]:port\" or \"unix:/path\"."`
	Keepalive   *int     `zrun:"keepalive" help:"Idle keepalive connections to the servers each worker keeps (the keepalive directive)."`
	MaxFails    *int     `zrun:"max_fails" help:"Failed attempts before a server counts as unavailable (each server's max_fails)."`
	FailTimeout *string  `zrun:"fail_timeout" help:"How long a server counts as unavailable after max_fails (each server's fail_timeout), e.g. \"10s\"."`
	Drain       *string  `zrun:"drain" help:"After the switch, wait at most this long (e.g. \"30s\") until nginx's old workers have exited: every request they were serving through the previous servers has ended, so those can be stopped. The step fails if they have not (the upstream stays switched)."`
	CreateOnly  bool     `zrun:"create_only,optional" help:"Write the file only when it does not exist yet: a proxy set-up names the first servers, and from then on the deploys that move the upstream own it."`
	connArgs
}

type upstreamOutputs struct {
	fileOutputs
	Previous []string `zrun:"previous" help:"The servers the upstream had before the step, read from the file (empty when there was none)."`
	Servers  []string `zrun:"servers" help:"The servers the upstream has now."`
	Drained  bool     `zrun:"drained" help:"Whether drain waited until no old worker was left (false without drain, or when nothing changed)."`
}

func newUpstream() sdk.Action {
	return sdk.NewAction("upstream",
		"Point one nginx upstream at new servers: rewrite its own file, test, reload and prove the reload took; "+
			"on any failure the previous file comes back and nginx keeps serving through the previous servers.",
		runUpstream, sdk.WithValidate(validateUpstream), sdk.WithPlan(planUpstream))
}

func validateUpstream(_ context.Context, a upstreamArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.connArgs.validate(known)
	if known.Has("path") && !path.IsAbs(a.Path) {
		diags = diags.Errorf(cty.GetAttrPath("path"), "Relative path", fmt.Sprintf("path %q must be absolute on the target, e.g. \"/etc/nginx/conf.d/app.upstream.conf\".", a.Path))
	}
	if known.All() {
		_, d := a.upstream()
		diags = append(diags, d...)
	}
	return diags
}

// upstream checks the arguments as the site's upstream objects are.
func (a *upstreamArgs) upstream() (*upstream, sdk.Diagnostics) {
	d := &decoder{}
	u := &upstream{name: d.str(cty.StringVal(a.Name), cty.GetAttrPath("name"), true), maxFails: a.MaxFails}
	d.match(nameRe, u.name, cty.GetAttrPath("name"), "Invalid upstream name", "an upstream name is letters, digits, _, . and -, e.g. \"app\".")
	servers := make([]cty.Value, len(a.Servers))
	for i, s := range a.Servers {
		servers[i] = cty.StringVal(s)
	}
	list := cty.ListValEmpty(cty.String)
	if len(servers) > 0 {
		list = cty.ListVal(servers)
	}
	u.servers = d.servers(list, cty.GetAttrPath("servers"))
	if a.Keepalive != nil {
		u.keepalive = *d.integerOr(*a.Keepalive, cty.GetAttrPath("keepalive"), 0, 10000)
	}
	if a.MaxFails != nil {
		d.integerOr(*a.MaxFails, cty.GetAttrPath("max_fails"), 0, 1000)
	}
	if a.Drain != nil {
		if dur, err := time.ParseDuration(*a.Drain); err != nil || dur <= 0 {
			d.errorf(cty.GetAttrPath("drain"), "Invalid duration", "drain %q is not a positive duration; write it as \"30s\".", *a.Drain)
		}
	}
	if a.FailTimeout != nil {
		u.failTimeout = d.str(cty.StringVal(*a.FailTimeout), cty.GetAttrPath("fail_timeout"), false)
		d.match(durationRe, u.failTimeout, cty.GetAttrPath("fail_timeout"), "Invalid duration", "write an nginx time such as \"10s\".")
	}
	return u, d.diags
}

// integerOr checks n is in [lo, hi]; it returns a pointer to n, or to lo
// when out of range (with a diagnostic).
func (d *decoder) integerOr(n int, p cty.Path, lo, hi int) *int {
	if n < lo || n > hi {
		d.errorf(p, "Invalid number", "This must be a whole number from %d to %d.", lo, hi)
		return &lo
	}
	return &n
}

var upstreamServer = regexp.MustCompile(`(?m)^\s*server\s+("[^"]*"|[^\s;]+)`)

// parseServers reads the servers of the file nginx.upstream wrote.
func parseServers(conf []byte) []string {
	out := []string{}
	for _, m := range upstreamServer.FindAllSubmatch(conf, -1) {
		out = append(out, strings.Trim(string(m[1]), `"`))
	}
	return out
}

func (a *upstreamArgs) file() (*file, error) {
	u, diags := a.upstream()
	if diags.HasErrors() {
		return nil, argError(diags)
	}
	return &file{path: a.Path, content: []byte(renderUpstream(u)), mode: 0o644}, nil
}

func planUpstream(ctx context.Context, a upstreamArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if target == nil || !known.All() {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("point upstream %s (%s) on %s at its new servers, test and reload nginx (known at run time)", a.Name, a.Path, hostName(target))}}, nil
	}
	f, err := a.file()
	if err != nil {
		return nil, err
	}
	c, err := compare(ctx, target, []*file{f})
	if err != nil {
		return nil, err
	}
	if a.CreateOnly && c.files[0].exists {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("upstream %s (%s) on %s exists: left as it is (create_only)", a.Name, a.Path, target.Name())}, NoOp: true}, nil
	}
	return c.plan("upstream "+a.Name+" ("+a.Path+")", target.Name()), nil
}

func runUpstream(ctx context.Context, a upstreamArgs, ui sdk.UI) (upstreamOutputs, error) {
	out := upstreamOutputs{fileOutputs: fileOutputs{Path: a.Path}, Servers: a.Servers, Previous: []string{}}
	s, err := a.server(ui)
	if err != nil {
		return out, err
	}
	f, err := a.file()
	if err != nil {
		return out, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return out, err
	}
	defer unlock()
	c, err := compare(ctx, s.t, []*file{f})
	if err != nil {
		return out, err
	}
	out.Previous = parseServers(c.files[0].old)
	out.SHA256 = sha256Hex(f.content)
	if a.CreateOnly && c.files[0].exists {
		ui.Logf("upstream %s on %s exists (create_only): left as it is, to %s", a.Name, s.t.Name(), strings.Join(out.Previous, ", "))
		out.Servers, out.SHA256 = out.Previous, sha256Hex(c.files[0].old)
		return out, nil
	}
	if !c.changed() {
		ui.Logf("upstream %s on %s already goes to %s: no change", a.Name, s.t.Name(), strings.Join(a.Servers, ", "))
		return out, nil
	}
	out.Diff = c.diff(s.t.Name())
	if err := s.apply(ctx, c); err != nil {
		return upstreamOutputs{fileOutputs: fileOutputs{Path: a.Path}, Previous: out.Previous, Servers: out.Previous}, err
	}
	ui.Logf("upstream %s on %s: %s -> %s (nginx reloaded)", a.Name, s.t.Name(), strings.Join(out.Previous, ", "), strings.Join(a.Servers, ", "))
	out.Changed = true
	if a.Drain != nil {
		dur, _ := time.ParseDuration(*a.Drain)
		start := time.Now()
		if err := s.drain(ctx, dur); err != nil {
			return out, fmt.Errorf("upstream %s was switched to %s, but %w", a.Name, strings.Join(a.Servers, ", "), err)
		}
		ui.Logf("nginx's old workers on %s drained in %s", s.t.Name(), time.Since(start).Round(time.Millisecond))
		out.Drained = true
	}
	return out, nil
}
