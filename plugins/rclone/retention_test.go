package rclone

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/zrun-dev/zrun/sdk"
)

// series is one backup a day at 03:00 UTC for days days up to
// 2026-12-01, each with a manifest; all modified at modified (a remote
// that rewrote them), or at their own time when modified is zero.
func series(days int, modified time.Time) []entry {
	var out []entry
	last := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for i := range days {
		at := last.AddDate(0, 0, -i)
		name := "db-" + at.Format("20060102T150405Z") + ".dump"
		mod := modified
		if mod.IsZero() {
			mod = at
		}
		out = append(out, entry{path: "b/" + name, name: name, size: 1, modified: mod},
			entry{path: "b/" + name + ".manifest.json", name: name + ".manifest.json", size: 1, modified: mod})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// days renders kept backups as their dates, "MMDD".
func days(bs []*backup) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, b.at.Format("0102"))
	}
	return out
}

func dayRange(from, to string) []string {
	a, _ := time.Parse("20060102", "2026"+from)
	b, _ := time.Parse("20060102", "2026"+to)
	var out []string
	for d := b; !d.Before(a); d = d.AddDate(0, 0, -1) {
		out = append(out, d.Format("0102"))
	}
	return out
}

func TestRetentionPolicies(t *testing.T) {
	noon := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	one := func(n int) *int { return &n }
	within := func(s string) *string { return &s }
	tests := map[string]struct {
		args retentionArgs
		now  time.Time
		keep []string
	}{
		"keep_last":     {args: retentionArgs{KeepLast: one(3)}, keep: []string{"1201", "1130", "1129"}},
		"keep_within":   {args: retentionArgs{KeepWithin: within("14d")}, keep: dayRange("1118", "1201")},
		"keep_within h": {args: retentionArgs{KeepWithin: within("36h")}, keep: []string{"1201", "1130"}},
		"keep_daily":    {args: retentionArgs{KeepDaily: one(7)}, keep: dayRange("1125", "1201")},
		// 2026-12-01 is a Tuesday of ISO week 49: the newest of weeks 49,
		// 48, 47 and 46 are that Tuesday and the three Sundays before.
		"keep_weekly":  {args: retentionArgs{KeepWeekly: one(4)}, keep: []string{"1201", "1129", "1122", "1115"}},
		"keep_monthly": {args: retentionArgs{KeepMonthly: one(3)}, keep: []string{"1201", "1130", "1031"}},
		"tiers": {args: retentionArgs{KeepDaily: one(7), KeepWeekly: one(4), KeepMonthly: one(3)},
			keep: append(dayRange("1125", "1201"), "1122", "1115", "1031")},
		"last and within": {args: retentionArgs{KeepLast: one(2), KeepWithin: within("1w")}, keep: dayRange("1125", "1201")},
		// Backups stopped a month ago: keep_within alone would keep none.
		"never the newest": {args: retentionArgs{KeepWithin: within("14d")}, now: noon.AddDate(0, 2, 0), keep: []string{"1201"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = noon
			}
			for _, byName := range []bool{false, true} {
				a := tc.args
				a.Companions = []string{".manifest.json"}
				objs := series(120, time.Time{})
				if byName {
					// The remote rewrote every mod time: the names say.
					a.TimeFormat = ptr("20060102T150405Z")
					objs = series(120, noon)
				}
				p, diags := a.policy(sdk.Known{})
				if diags.HasErrors() {
					t.Fatal(diags.Err())
				}
				d, err := p.decide(objs, now)
				if err != nil {
					t.Fatal(err)
				}
				if got := days(d.keep); !cmp.Equal(got, tc.keep) {
					t.Errorf("by name %v: kept %q, want %q", byName, got, tc.keep)
				}
				if len(d.keep)+len(d.drop) != 120 || len(d.orphans) != 0 {
					t.Errorf("by name %v: %d kept, %d dropped, %d orphans", byName, len(d.keep), len(d.drop), len(d.orphans))
				}
				for _, b := range append(d.keep, d.drop...) {
					if !cmp.Equal(b.companions, []string{b.path + ".manifest.json"}) {
						t.Fatalf("%s has companions %q", b.path, b.companions)
					}
				}
			}
		})
	}
}

func TestRetentionTimeFromName(t *testing.T) {
	objs := []entry{{path: "x/a-2026-11-01_0300.dump", name: "a-2026-11-01_0300.dump"}, {path: "x/a-2026-11-02_0300.dump", name: "a-2026-11-02_0300.dump"}}
	p := &policy{last: 1, timeFormat: "2006-01-02_1504"}
	d, err := p.decide(objs, time.Now())
	if err != nil || len(d.keep) != 1 || d.keep[0].name != "a-2026-11-02_0300.dump" {
		t.Fatalf("decide = %+v, %v", d, err)
	}
	p.match = mustCompile(t, `^a-(?P<time>.*)\.dump$`)
	if d, err = p.decide(objs, time.Now()); err != nil || d.keep[0].name != "a-2026-11-02_0300.dump" {
		t.Fatalf("with a time group: %+v, %v", d, err)
	}
	p.match = nil
	_, err = p.decide(append(objs, entry{path: "x/notes.txt", name: "notes.txt"}), time.Now())
	if err == nil || !strings.Contains(err.Error(), "x/notes.txt") {
		t.Errorf("a name without a time: %v", err)
	}
}

// TestRetentionAction runs plan and retention on a local folder of dated
// backups with manifests, an unrelated object and an orphan manifest.
func TestRetentionAction(t *testing.T) {
	saved := now
	now = func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { now = saved })
	b := localBackend(t)
	var want []string
	for _, e := range series(20, time.Time{}) {
		if err := os.WriteFile(filepath.Join(b.dir, e.name), []byte(e.name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"README", "db-20250101T030000Z.dump.manifest.json"} {
		if err := os.WriteFile(filepath.Join(b.dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := args(b.remote, "path", b.dir, "match", `^db-.*\.dump$`, "keep_daily", 3, "keep_weekly", 2, "time_format", "20060102T150405Z",
		"companions", cty.ListVal([]cty.Value{cty.StringVal(".manifest.json")}))
	for _, d := range dayRange("1112", "1201") {
		if !strings.Contains(" 1201 1130 1129 ", " "+d+" ") {
			name := "db-2026" + d + "T030000Z.dump"
			want = append(want, filepath.Join(b.dir, name+".manifest.json"), filepath.Join(b.dir, name))
		}
	}

	resp, diags, err := sdk.InProcess(Plugin()).PlanAction(t.Context(), "retention", &sdk.PlanRequest{Args: planArgs(t, a)})
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags.Err())
	}
	var planned []string
	for _, c := range resp.Changes {
		if rest, ok := strings.CutPrefix(c, "delete "); ok {
			planned = append(planned, strings.Fields(rest)[0])
		}
	}
	if !cmp.Equal(planned, want) || resp.NoOp {
		t.Errorf("plan deletes %q, want %q", planned, want)
	}
	if !strings.Contains(strings.Join(resp.Changes, "\n"), "keep "+filepath.Join(b.dir, "db-20261129T030000Z.dump")+" (2026-11-29T03:00:00Z: daily 2026-11-29, weekly 2026-W48)") {
		t.Errorf("plan = %s", strings.Join(resp.Changes, "\n"))
	}

	res := ok(t, run(t, "retention", a))
	if got := strs(res.Outputs.GetAttr("deleted")); !cmp.Equal(got, want) {
		t.Errorf("deleted %q, want %q", got, want)
	}
	left := dirNames(t, b.dir)
	wantLeft := []string{"README", "db-20250101T030000Z.dump.manifest.json"}
	for _, d := range []string{"1129", "1130", "1201"} {
		wantLeft = append(wantLeft, "db-2026"+d+"T030000Z.dump", "db-2026"+d+"T030000Z.dump.manifest.json")
	}
	sort.Strings(wantLeft)
	if !cmp.Equal(left, wantLeft) {
		t.Errorf("the folder holds %q, want %q", left, wantLeft)
	}
	if kept := strs(res.Outputs.GetAttr("kept")); len(kept) != 7 {
		t.Errorf("kept %q", kept)
	}
}

// planArgs converts test arguments to the retention action's arguments type.
func planArgs(t *testing.T, a map[string]cty.Value) cty.Value {
	t.Helper()
	ty := Plugin().Schema().Actions["retention"].ArgsType()
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		attrs[name] = cty.NullVal(at)
	}
	for k, v := range a {
		attrs[k] = v
	}
	v, err := convert.Convert(cty.ObjectVal(attrs), ty)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "720h": 720 * time.Hour, "2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "14", "d", "14 d", "-1d", "1y"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) succeeded", in)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func mustCompile(t *testing.T, re string) *regexp.Regexp {
	t.Helper()
	r, err := regexp.Compile(re)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
