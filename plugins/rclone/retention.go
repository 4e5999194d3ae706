package rclone

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/sdk"
)

type retentionArgs struct {
	folderArgs
	Match       *string  `zrun:"match" help:"A regular expression (RE2) on an object's name below the folder: the objects it matches are the backups. Default: every object. Others are never touched."`
	KeepLast    *int     `zrun:"keep_last" help:"Keep the N newest backups."`
	KeepWithin  *string  `zrun:"keep_within" help:"Keep every backup newer than this, e.g. \"14d\", \"2w\", \"720h\", \"1d12h\"."`
	KeepDaily   *int     `zrun:"keep_daily" help:"Keep the newest backup of each of the N latest days (UTC) that have one."`
	KeepWeekly  *int     `zrun:"keep_weekly" help:"Keep the newest backup of each of the N latest ISO weeks that have one."`
	KeepMonthly *int     `zrun:"keep_monthly" help:"Keep the newest backup of each of the N latest months (UTC) that have one."`
	Companions  []string `zrun:"companions,optional" help:"Suffixes of an object's companions, e.g. [\".manifest.json\"]: the object <backup><suffix> is kept or deleted with <backup> (deleted first), and never counted as a backup of its own."`
	TimeFormat  *string  `zrun:"time_format" help:"A Go time layout (e.g. \"2006-01-02T150405Z\") to read a backup's time from its name, in preference to its modification time (which remotes can change). match's named group (?P<time>...) says where; otherwise the first substring that parses. A backup whose name holds no such time fails the step."`
}

type retentionOutputs struct {
	Kept    []string `zrun:"kept" help:"The paths of the backups (and companions) kept, newest first."`
	Deleted []string `zrun:"deleted" help:"The paths deleted, newest first (a backup's companions before it)."`
}

func newRetention() sdk.Action {
	return sdk.NewAction("retention",
		"Delete old backups from a folder by restic-style rules: keep_last, keep_within, and the newest of each of the "+
			"latest days, ISO weeks and months. A policy that keeps nothing is refused, and the newest backup is never deleted. "+
			"The plan lists what would be deleted and kept.",
		runRetention, sdk.WithValidate(validateRetention), sdk.WithPlan(planRetention))
}

// policy is a parsed retention rule set.
type policy struct {
	match                      *regexp.Regexp
	last, daily, weekly, month int
	within                     time.Duration
	companions                 []string
	timeFormat                 string
}

func validateRetention(_ context.Context, a retentionArgs, known sdk.Known) sdk.Diagnostics {
	diags := a.validate(known)
	_, pdiags := a.policy(known)
	return append(diags, pdiags...)
}

// policy parses the rules; with unknown arguments, it checks what it can.
func (a *retentionArgs) policy(known sdk.Known) (*policy, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	p := &policy{companions: a.Companions}
	p.match, diags = compileMatch(a.Match, known, diags)
	for _, n := range []struct {
		arg string
		v   *int
		dst *int
	}{{"keep_last", a.KeepLast, &p.last}, {"keep_daily", a.KeepDaily, &p.daily}, {"keep_weekly", a.KeepWeekly, &p.weekly}, {"keep_monthly", a.KeepMonthly, &p.month}} {
		if n.v != nil && *n.v < 0 {
			diags = diags.Errorf(cty.GetAttrPath(n.arg), "Invalid count", fmt.Sprintf("%s is how many backups to keep, 0 or more.", n.arg))
		} else if n.v != nil {
			*n.dst = *n.v
		}
	}
	if a.KeepWithin != nil && known.Has("keep_within") {
		d, err := parseAge(*a.KeepWithin)
		if err != nil {
			diags = diags.Errorf(cty.GetAttrPath("keep_within"), "Invalid duration", err.Error())
		}
		p.within = d
	}
	for i, c := range a.Companions {
		if c == "" {
			diags = diags.Errorf(cty.GetAttrPath("companions").Index(cty.NumberIntVal(int64(i))), "Empty suffix", `A companion suffix ends a backup's name, e.g. ".manifest.json".`)
		}
	}
	if a.TimeFormat != nil && known.Has("time_format") {
		p.timeFormat = *a.TimeFormat
		if other := time.Date(2017, 11, 23, 22, 17, 38, 0, time.UTC).Format(p.timeFormat); other == p.timeFormat {
			diags = diags.Errorf(cty.GetAttrPath("time_format"), "Invalid time format",
				`time_format is a Go layout written with the reference time, e.g. "2006-01-02T150405Z" or "20060102-1504".`)
		}
	}
	allKnown := known.Has("keep_last") && known.Has("keep_within") && known.Has("keep_daily") && known.Has("keep_weekly") && known.Has("keep_monthly")
	if allKnown && p.last == 0 && p.within == 0 && p.daily == 0 && p.weekly == 0 && p.month == 0 {
		diags = diags.Errorf(cty.GetAttrPath("keep_last"), "Policy keeps nothing",
			"Set at least one of keep_last, keep_within, keep_daily, keep_weekly and keep_monthly to more than 0: a retention that keeps no backup is refused.")
	}
	return p, diags
}

// ageUnit matches one term of a duration such as "1d12h".
var ageUnit = regexp.MustCompile(`^(\d+)(w|d|h|m|s)`)

// parseAge parses a duration in weeks, days, hours, minutes and seconds.
func parseAge(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration: write it as a number and a unit (w, d, h, m, s), e.g. \"14d\", \"720h\", \"1d12h\"", s)
	if s == "" {
		return 0, bad
	}
	units := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}
	var d time.Duration
	for rest := s; rest != ""; {
		m := ageUnit.FindStringSubmatch(rest)
		if m == nil {
			return 0, bad
		}
		n, err := strconv.ParseInt(m[1], 10, 32)
		if err != nil {
			return 0, bad
		}
		d += time.Duration(n) * units[m[2]]
		rest = rest[len(m[0]):]
	}
	return d, nil
}

// backup is one backup a retention considers, with its companions.
type backup struct {
	entry
	at         time.Time
	companions []string // paths
	reasons    []string // why it is kept; none: deleted
}

// decision is what a policy does to a folder's objects.
type decision struct {
	keep, drop []*backup // newest first
	orphans    []string  // companions without their backup: left alone
}

// decide applies p to a folder's objects at time now.
func (p *policy) decide(objs []entry, now time.Time) (*decision, error) {
	byName := map[string]*backup{}
	var backups []*backup
	var companions []entry
	for _, o := range objs {
		if p.companionOf(o.name) != "" {
			companions = append(companions, o)
			continue
		}
		if p.match != nil && !p.match.MatchString(o.name) {
			continue
		}
		at, err := p.timeOf(o)
		if err != nil {
			return nil, err
		}
		b := &backup{entry: o, at: at}
		backups = append(backups, b)
		byName[o.name] = b
	}
	d := &decision{}
	for _, c := range companions {
		if b, ok := byName[p.companionOf(c.name)]; ok {
			b.companions = append(b.companions, c.path)
		} else {
			d.orphans = append(d.orphans, c.path)
		}
	}
	sort.SliceStable(backups, func(i, j int) bool {
		if !backups[i].at.Equal(backups[j].at) {
			return backups[i].at.After(backups[j].at)
		}
		return backups[i].name > backups[j].name
	})
	p.mark(backups, now)
	for _, b := range backups {
		if len(b.reasons) > 0 {
			d.keep = append(d.keep, b)
		} else {
			d.drop = append(d.drop, b)
		}
	}
	return d, nil
}

// mark records why each backup (newest first) is kept.
func (p *policy) mark(backups []*backup, now time.Time) {
	tiers := []struct {
		name string
		n    int
		key  func(time.Time) string
	}{
		{"daily", p.daily, func(t time.Time) string { return t.UTC().Format("2006-01-02") }},
		{"weekly", p.weekly, func(t time.Time) string { y, w := t.UTC().ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{"monthly", p.month, func(t time.Time) string { return t.UTC().Format("2006-01") }},
	}
	last := make([]string, len(tiers))
	count := make([]int, len(tiers))
	for i, b := range backups {
		if i < p.last {
			b.reasons = append(b.reasons, "last")
		}
		if p.within > 0 && b.at.After(now.Add(-p.within)) {
			b.reasons = append(b.reasons, "within "+durationText(p.within))
		}
		for ti, t := range tiers {
			if key := t.key(b.at); count[ti] < t.n && key != last[ti] {
				last[ti] = key
				count[ti]++
				b.reasons = append(b.reasons, t.name+" "+key)
			}
		}
	}
	if len(backups) > 0 && len(backups[0].reasons) == 0 {
		// The newest backup is never deleted: a policy that keeps nothing
		// (keep_within when backups stopped) must not empty the folder.
		kept := false
		for _, b := range backups {
			kept = kept || len(b.reasons) > 0
		}
		if !kept {
			backups[0].reasons = append(backups[0].reasons, "newest (never deleted)")
		}
	}
}

// companionOf returns the name of the backup name is a companion of, or "".
func (p *policy) companionOf(name string) string {
	for _, s := range p.companions {
		if s != "" && strings.HasSuffix(name, s) && len(name) > len(s) {
			return strings.TrimSuffix(name, s)
		}
	}
	return ""
}

// timeOf is a backup's time: read from its name with time_format, else its
// modification time.
func (p *policy) timeOf(o entry) (time.Time, error) {
	if p.timeFormat == "" {
		return o.modified, nil
	}
	base := o.name[strings.LastIndex(o.name, "/")+1:]
	if p.match != nil {
		if i := p.match.SubexpIndex("time"); i > 0 {
			if m := p.match.FindStringSubmatch(o.name); m != nil && m[i] != "" {
				t, err := time.Parse(p.timeFormat, m[i])
				if err != nil {
					return time.Time{}, fmt.Errorf("the time %q in the name of %s does not parse with time_format %q: %v", m[i], o.path, p.timeFormat, err)
				}
				return t, nil
			}
		}
	}
	width := len(time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC).Format(p.timeFormat))
	for i := 0; i+width <= len(base); i++ {
		if t, err := time.Parse(p.timeFormat, base[i:i+width]); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("the name of %s holds no time in time_format %q: narrow match to the backups' names, or fix time_format", o.path, p.timeFormat)
}

func durationText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// now is the clock retention measures keep_within against (tests set it).
var now = time.Now

func (a *retentionArgs) decide(ctx context.Context) (*remote, *decision, error) {
	p, diags := a.policy(sdk.Known{})
	if diags.HasErrors() {
		return nil, nil, diags.Err()
	}
	r, err := a.resolve()
	if err != nil {
		return nil, nil, err
	}
	objs, err := listFolder(ctx, r, a.Path, false)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s on %s: %w", a.Path, r.label, err)
	}
	d, err := p.decide(objs, now())
	return r, d, err
}

func planRetention(ctx context.Context, a retentionArgs, known sdk.Known, _ sdk.Target) (*sdk.PlanResponse, error) {
	if !known.All() {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("apply retention to %s on %s", a.Path, describeRemote(a.remoteArgs, known))}}, nil
	}
	_, d, err := a.decide(ctx)
	if err != nil {
		return nil, err
	}
	var changes []string
	for _, b := range d.drop {
		for _, c := range b.companions {
			changes = append(changes, "delete "+c)
		}
		changes = append(changes, fmt.Sprintf("delete %s (%s)", b.path, b.at.UTC().Format(time.RFC3339)))
	}
	for _, b := range d.keep {
		changes = append(changes, fmt.Sprintf("keep %s (%s: %s)", b.path, b.at.UTC().Format(time.RFC3339), strings.Join(b.reasons, ", ")))
	}
	if len(changes) == 0 {
		changes = []string{fmt.Sprintf("no backups in %s on %s", a.Path, describeRemote(a.remoteArgs, known))}
	}
	return &sdk.PlanResponse{Changes: changes, NoOp: len(d.drop) == 0}, nil
}

func runRetention(ctx context.Context, a retentionArgs, ui sdk.UI) (retentionOutputs, error) {
	r, d, err := a.decide(ctx)
	if err != nil {
		return retentionOutputs{}, err
	}
	out := retentionOutputs{Kept: []string{}, Deleted: []string{}}
	for _, b := range d.keep {
		out.Kept = append(out.Kept, b.path)
		out.Kept = append(out.Kept, b.companions...)
	}
	out.Kept = append(out.Kept, d.orphans...)
	for _, b := range d.drop {
		// Companions first: a backup without its manifest is not a
		// backup, a manifest without its backup would look like one.
		for _, p := range append(append([]string(nil), b.companions...), b.path) {
			_, obj, err := r.object(ctx, p)
			if err == nil {
				err = r.wrap(obj.Remove(ctx))
			}
			if err != nil {
				return out, fmt.Errorf("retention: delete %s on %s: %w (deleted before it: %d)", p, r.label, err, len(out.Deleted))
			}
			out.Deleted = append(out.Deleted, p)
			ui.Logf("deleted %s", p)
		}
	}
	return out, nil
}

// compileMatch compiles a match argument (an RE2 expression on object
// names; nil or unknown: none), adding a diagnostic at it when it does not
// compile.
func compileMatch(match *string, known sdk.Known, diags sdk.Diagnostics) (*regexp.Regexp, sdk.Diagnostics) {
	if match == nil || !known.Has("match") {
		return nil, diags
	}
	re, err := regexp.Compile(*match)
	if err != nil {
		diags = diags.Errorf(cty.GetAttrPath("match"), "Invalid regular expression", fmt.Sprintf("match is an RE2 expression on object names: %v.", err))
	}
	return re, diags
}
