package ufw

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/targets"
	"github.com/zrun-dev/zrun/plugins/ufw/ufwtest"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// The tests in this file run the actions through the real wire against a
// real ufw in a network namespace of their own (ufwtest), reached over a
// real sshd through zrun's SSH communicator, as a step with
// target = "srv" would; traffic from the host through the veth pair
// proves what the firewall lets in.

// run runs an action on the namespace over gRPC.
func run(t *testing.T, ns *ufwtest.Namespace, action string, args map[string]any, opts ...sdktest.Option) *sdktest.Result {
	t.Helper()
	return sdktest.Run(t, Plugin(), action, args, append([]sdktest.Option{sdktest.OverGRPC(), sdktest.WithTarget(ns.Target)}, opts...)...)
}

func ok(t *testing.T, res *sdktest.Result) *sdktest.Result {
	t.Helper()
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatalf("step failed: %s\nlogs: %q", err, res.Logs)
	}
	return res
}

func plan(t *testing.T, ns *ufwtest.Namespace, args map[string]any) *sdk.PlanResponse {
	t.Helper()
	p := Plugin()
	resp, diags, err := sdktest.GRPC(t, p).PlanAction(t.Context(), "rules", &sdk.PlanRequest{Args: sdktest.Args(t, p, "rules", args), Target: ns.Target})
	if err != nil || diags.HasErrors() {
		t.Fatalf("plan: %v %v", err, diags.Err())
	}
	return resp
}

func strs(v cty.Value) []string {
	var out []string
	if v.IsNull() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}

// guide is the deployment guide's firewall, with admin as the admin
// network and 3001 open to a network the test is not on.
func guide(admin string) map[string]any {
	return map[string]any{
		"defaults": map[string]string{"incoming": "deny", "outgoing": "allow"},
		"logging":  "low",
		"rules": cty.TupleVal([]cty.Value{
			tcp("allow", 22), tcp("allow", 80), tcp("allow", 443),
			cty.ObjectVal(map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.NumberIntVal(9090), "from": cty.StringVal(admin), "comment": cty.StringVal("prometheus")}),
			cty.ObjectVal(map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.NumberIntVal(3001), "from": cty.StringVal("203.0.113.0/24"), "comment": cty.StringVal("grafana")}),
		}),
	}
}

func tcp(action string, port int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"action": cty.StringVal(action), "port": cty.NumberIntVal(port), "proto": cty.StringVal("tcp")})
}

// reach checks what the host reaches in the namespace.
func reach(t *testing.T, ns *ufwtest.Namespace, want map[int]string) {
	t.Helper()
	got := map[int]string{}
	for port := range want {
		got[port] = ns.Reach(port)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("traffic from the host (-want +got):\n%s", diff)
	}
}

func TestRulesApply(t *testing.T) {
	ns := ufwtest.Start(t)
	for _, port := range []int{80, 443, 8080, 9090, 3001} {
		ns.Listen(t, port)
	}
	reach(t, ns, map[int]string{22: "open", 80: "open", 8080: "open", 3001: "open"}) // ufw is inactive
	args := guide(ns.HostAddr + "/30")

	p := plan(t, ns, args)
	wantPlan := []string{"+ allow 22/tcp from any", "+ allow 80/tcp from any", "+ allow 443/tcp from any",
		"+ allow 9090 from " + strings.TrimSuffix(ns.HostAddr, "1") + "0/30 # prometheus", "+ allow 3001 from 203.0.113.0/24 # grafana", "+ enable ufw (it is inactive)"}
	if diff := cmp.Diff(wantPlan, p.Changes); diff != "" || p.NoOp {
		t.Errorf("plan on a fresh ufw, NoOp %v (-want +got):\n%s", p.NoOp, diff)
	}

	start := time.Now()
	res := ok(t, run(t, ns, "rules", args))
	t.Logf("confirmed apply of the guide's rules on a fresh ufw: %s", time.Since(start).Round(time.Millisecond))
	if !res.Outputs.GetAttr("changed").True() || len(strs(res.Outputs.GetAttr("added"))) != 5 || res.Outputs.GetAttr("reverted").True() {
		t.Errorf("outputs = %#v", res.Outputs)
	}
	if !strings.Contains(ns.File(t, "/etc/ufw/ufw.conf"), "ENABLED=yes") {
		t.Error("ufw was not enabled")
	}
	reach(t, ns, map[int]string{22: "open", 80: "open", 443: "open", 9090: "open", 3001: "filtered", 8080: "filtered"})
	noRevert(t, ns)

	// Again: nothing to do, nothing run that changes the rules.
	before, _ := os.Stat(ns.Dir + "/ufw/user.rules")
	if p := plan(t, ns, args); !p.NoOp {
		t.Errorf("plan after the apply: %q", p.Changes)
	}
	start = time.Now()
	res = ok(t, run(t, ns, "rules", args))
	t.Logf("apply with no change: %s", time.Since(start).Round(time.Millisecond))
	if res.Outputs.GetAttr("changed").True() {
		t.Errorf("second apply changed something: %#v", res.Outputs)
	}
	if after, _ := os.Stat(ns.Dir + "/ufw/user.rules"); !after.ModTime().Equal(before.ModTime()) {
		t.Error("the second apply rewrote user.rules")
	}

	// A changed set: only the difference, in order.
	args["rules"] = cty.TupleVal([]cty.Value{
		tcp("allow", 22), tcp("limit", 80),
		cty.ObjectVal(map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.NumberIntVal(9090), "from": cty.StringVal(ns.HostAddr + "/30"), "comment": cty.StringVal("prometheus")}),
		tcp("reject", 8080),
	})
	p = plan(t, ns, args)
	wantPlan = []string{"~ allow 80/tcp from any -> limit 80/tcp from any", "+ reject 8080/tcp from any", "- allow 443/tcp from any", "- allow 3001 from 203.0.113.0/24 # grafana"}
	if diff := cmp.Diff(wantPlan, p.Changes); diff != "" {
		t.Errorf("plan of the changed set (-want +got):\n%s", diff)
	}
	start = time.Now()
	res = ok(t, run(t, ns, "rules", args))
	t.Logf("confirmed apply of 5 changes: %s", time.Since(start).Round(time.Millisecond))
	if diff := cmp.Diff([]string{"limit 80/tcp from any", "reject 8080/tcp from any"}, strs(res.Outputs.GetAttr("added"))); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"allow 80/tcp from any", "allow 443/tcp from any", "allow 3001 from 203.0.113.0/24 # grafana"}, strs(res.Outputs.GetAttr("removed"))); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	var tuples []string
	for _, line := range strings.Split(ns.File(t, "/etc/ufw/user.rules"), "\n") {
		if strings.HasPrefix(line, "### tuple ###") {
			tuples = append(tuples, strings.Fields(line)[3]+" "+strings.Fields(line)[5])
		}
	}
	if diff := cmp.Diff([]string{"allow 22", "limit 80", "allow 9090", "reject 8080"}, tuples); diff != "" {
		t.Errorf("user.rules' order (-want +got):\n%s", diff)
	}
	reach(t, ns, map[int]string{22: "open", 80: "open", 443: "filtered", 8080: "refused", 3001: "filtered"})
	noRevert(t, ns)

	st := ok(t, run(t, ns, "status", nil))
	if diff := cmp.Diff([]string{"allow 22/tcp from any", "limit 80/tcp from any", "allow 9090 from " + strings.TrimSuffix(ns.HostAddr, "1") + "0/30 # prometheus", "reject 8080/tcp from any"}, strs(st.Outputs.GetAttr("rules"))); diff != "" || !st.Outputs.GetAttr("active").True() {
		t.Errorf("status rules (-want +got):\n%s", diff)
	}
}

// TestRulesGuard: a set that would cut zrun's SSH connection is refused,
// naming the rule (or the policy) and the port, and changes nothing.
func TestRulesGuard(t *testing.T) {
	ns := ufwtest.Start(t)
	before := ns.File(t, "/etc/ufw/user.rules")
	tests := map[string]struct {
		rules []cty.Value
		path  cty.Path
		text  string
	}{
		"no rule allows 22": {[]cty.Value{tcp("allow", 80)}, cty.GetAttrPath("defaults").Index(cty.StringVal("incoming")), "No rule allows TCP port 22 from " + ns.HostAddr},
		"a deny first":      {[]cty.Value{tcp("deny", 22), cty.ObjectVal(map[string]cty.Value{"action": cty.StringVal("allow"), "port": cty.NumberIntVal(22), "from": cty.StringVal(ns.HostAddr)})}, cty.GetAttrPath("rules").IndexInt(0), "rules[0] (deny 22/tcp from any) refuses TCP port 22 from " + ns.HostAddr},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := run(t, ns, "rules", map[string]any{"defaults": map[string]string{"incoming": "deny"}, "rules": cty.TupleVal(tt.rules)})
			if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != "Rule set blocks zrun's SSH connection" || !res.Diagnostics[0].Path.Equals(tt.path) ||
				!strings.Contains(res.Diagnostics[0].Detail, tt.text) || !strings.Contains(res.Diagnostics[0].Detail, "allow_ssh_block = true") {
				t.Errorf("diags = %#v", res.Diagnostics)
			}
		})
	}
	if ns.File(t, "/etc/ufw/user.rules") != before {
		t.Error("a refused set changed the rules")
	}
}

// TestRulesConfirmCut: a set that cuts the SSH port (allowed explicitly)
// is applied, the new login fails, and the rules come back by themselves.
func TestRulesConfirmCut(t *testing.T) {
	ns := ufwtest.Start(t)
	ns.Listen(t, 80)
	args := guide(ns.HostAddr + "/30")
	ok(t, run(t, ns, "rules", args))
	before := ns.File(t, "/etc/ufw/user.rules")

	args["rules"] = cty.TupleVal([]cty.Value{tcp("deny", 22), tcp("allow", 80)})
	args["allow_ssh_block"] = true
	args["confirm_timeout"] = "3s"
	start := time.Now()
	res := run(t, ns, "rules", args)
	took := time.Since(start)
	t.Logf("a cut confirmed apply failed and reverted in %s", took.Round(time.Millisecond))
	err := res.Diagnostics.Err()
	if err == nil || !strings.Contains(err.Error(), "a new login to srv failed") || !strings.Contains(err.Error(), "came back on srv by themselves (reverted)") {
		t.Fatalf("error = %v\nlogs: %q", err, res.Logs)
	}
	if took > 60*time.Second {
		t.Errorf("the revert took %s", took)
	}
	if left, _ := os.ReadDir(ns.Dir + "/var-tmp"); len(left) != 0 {
		t.Errorf("the checked revert left %d snapshot(s)", len(left))
	}
	if got := ns.File(t, "/etc/ufw/user.rules"); got != before {
		t.Errorf("the rules did not come back:\n%s", got)
	}
	reach(t, ns, map[int]string{22: "open", 80: "open"})
	newLogin(t, ns)
}

// TestRulesConfirmKilled: zrun dies right after applying (and the SSH
// connection with it): the server puts the previous rules back alone.
func TestRulesConfirmKilled(t *testing.T) {
	ns := ufwtest.Start(t)
	ns.Listen(t, 80)
	args := guide(ns.HostAddr + "/30")
	ok(t, run(t, ns, "rules", args))
	before := ns.File(t, "/etc/ufw/user.rules")

	var killed time.Time
	testHookApplied = func(context.Context) error {
		killed = time.Now()
		ns.Server.KillConnections() // the session dies with zrun
		return errors.New("zrun was killed")
	}
	t.Cleanup(func() { testHookApplied = nil })
	args["rules"] = cty.TupleVal([]cty.Value{tcp("allow", 22)})
	args["confirm_timeout"] = "3s"
	res := run(t, ns, "rules", args)
	if err := res.Diagnostics.Err(); err == nil || !strings.Contains(err.Error(), "zrun was killed") {
		t.Fatalf("error = %v", err)
	}
	if ns.Reach(80) != "filtered" {
		t.Fatal("the new rules were not applied")
	}
	// Back by themselves: 3s after zrun died, plus a ufw reload (which
	// takes seconds on a busy machine).
	for ns.File(t, "/etc/ufw/user.rules") != before || ns.Reach(80) != "open" {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the rules did not come back within 30s of zrun's death:\n%s", ns.File(t, "/etc/ufw/user.rules"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the server reverted by itself %s after zrun died", time.Since(killed).Round(time.Millisecond))
	newLogin(t, ns)
}

// noRevert checks that a confirmed apply left no revert behind: no
// process, no snapshot.
func noRevert(t *testing.T, ns *ufwtest.Namespace) {
	t.Helper()
	for _, cmd := range ns.Processes(t) {
		if strings.Contains(cmd, "revert.sh") || strings.HasPrefix(cmd, "sleep") {
			t.Errorf("a revert still runs: %s", cmd)
		}
	}
	if left, _ := os.ReadDir(ns.Dir + "/var-tmp"); len(left) != 0 {
		t.Errorf("the confirmed apply left %d snapshot(s)", len(left))
	}
}

// newLogin checks that zrun can log in to the namespace again.
func newLogin(t *testing.T, ns *ufwtest.Namespace) {
	t.Helper()
	pool := targets.NewPool()
	defer pool.Close()
	tg, err := pool.Target(t.Context(), ns.Config())
	if err == nil {
		_, err = tg.Exec(t.Context(), &sdk.Command{Args: []string{"true"}})
	}
	if err != nil {
		t.Errorf("zrun cannot log in again: %v", err)
	}
}

// TestRulesVaried: every kind of rule ufw.rules writes reads back as the
// same rule, so a second plan has nothing to do.
func TestRulesVaried(t *testing.T) {
	ns := ufwtest.Start(t)
	obj := func(kv ...string) cty.Value {
		m := map[string]cty.Value{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = cty.StringVal(kv[i+1])
		}
		return cty.ObjectVal(m)
	}
	args := map[string]any{
		"defaults": map[string]string{"incoming": "deny", "outgoing": "allow", "routed": "reject"},
		"logging":  "medium",
		"rules": cty.TupleVal([]cty.Value{
			tcp("allow", 22),
			obj("action", "allow", "port", "http"),   // 80/tcp in /etc/services: tcp
			obj("action", "allow", "port", "domain"), // 53/tcp and 53/udp: any protocol
			obj("action", "allow", "port", "6000:6007", "proto", "udp"),
			obj("action", "deny", "direction", "out", "interface", "lo", "to", "10.0.0.1", "port", "53", "proto", "udp", "comment", "no dns"),
			obj("action", "reject", "from", "10.1.2.3", "port", "25", "proto", "tcp"),
			obj("action", "allow", "from", "10.9.0.5/16"),
			obj("action", "limit", "port", "2200", "proto", "tcp", "interface", "lo"),
			obj("action", "allow", "from", "2001:db8::/32", "port", "2222", "proto", "tcp"),
		}),
	}
	res := ok(t, run(t, ns, "rules", args))
	want := []string{"allow 22/tcp from any", "allow 80/tcp from any", "allow 53 from any", "allow 6000:6007/udp from any",
		"deny out on lo 53/udp from any to 10.0.0.1 # no dns", "reject 25/tcp from 10.1.2.3", "allow all from 10.9.0.0/16", "limit on lo 2200/tcp from any",
		"allow 2222/tcp from 2001:db8::/32"}
	st := ok(t, run(t, ns, "status", nil))
	if diff := cmp.Diff(want, strs(st.Outputs.GetAttr("rules"))); diff != "" {
		t.Errorf("status rules (-want +got):\n%s\nadded: %q", diff, strs(res.Outputs.GetAttr("added")))
	}
	if got := st.Outputs.GetAttr("defaults").AsValueMap()["routed"].AsString(); got != "reject" || st.Outputs.GetAttr("logging").AsString() != "medium" {
		t.Errorf("routed %q, logging %q", got, st.Outputs.GetAttr("logging").AsString())
	}
	if p := plan(t, ns, args); !p.NoOp {
		t.Errorf("a second plan: %q", p.Changes)
	}
}
