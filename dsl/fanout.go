package dsl

import (
	"math"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// DefaultParallel is how many hosts of a group a step runs on at once
// when its parallel argument is unset: Terraform's parallelism, a middle
// ground between Ansible's 5 forks and all hosts at once.
const DefaultParallel = 10

// MaxParallel bounds parallel: more is a typo, and each host holds a
// connection and a plugin call.
const MaxParallel = 1000

// Fanout is how a step whose target is a group runs on the group's hosts:
// one instance per host, at most Parallel at once, batch by batch (Ansible's
// serial). After each batch, once more hosts have failed than the step
// tolerates, the hosts of later batches are not started. The step fails
// when more hosts failed than it tolerates.
type Fanout struct {
	// Parallel caps how many hosts run at once: DefaultParallel unless set.
	Parallel int
	// BatchSize is the number of hosts per batch, or BatchPercent the
	// share of the group's hosts (rounded down, at least 1); both 0: one
	// batch of every host.
	BatchSize    int
	BatchPercent int
	// MaxFailures is how many hosts may fail with the step still
	// succeeding (nil: 0 unless MaxFailPercent is set); MaxFailPercent the
	// share of the group's hosts that may (nil: unset). At most one is set.
	MaxFailures    *int
	MaxFailPercent *float64
	// DeclRange is where the first fan-out argument of the step, arg, is
	// written.
	DeclRange hcl.Range
	arg       string
}

// DefaultFanout is the fan-out of a step that sets no fan-out argument.
func DefaultFanout() *Fanout { return &Fanout{Parallel: DefaultParallel} }

// Batches splits hosts, in order, into the batches the step runs them in.
func (f *Fanout) Batches(hosts []string) [][]string {
	size := f.BatchSize
	if f.BatchPercent > 0 {
		size = max(1, len(hosts)*f.BatchPercent/100)
	}
	if size <= 0 || size >= len(hosts) {
		return [][]string{hosts}
	}
	var out [][]string
	for len(hosts) > 0 {
		n := min(size, len(hosts))
		out = append(out, hosts[:n])
		hosts = hosts[n:]
	}
	return out
}

// Tolerated returns how many of total hosts may fail with the step still
// succeeding.
func (f *Fanout) Tolerated(total int) int {
	switch {
	case f.MaxFailures != nil:
		return *f.MaxFailures
	case f.MaxFailPercent != nil:
		// The epsilon keeps 10% of 30 at 3 whatever the float rounding.
		return int(math.Floor(float64(total)**f.MaxFailPercent/100 + 1e-9))
	}
	return 0
}

// decodeFanout decodes one fan-out argument of s; all are static.
func (d *decoder) decodeFanout(s *Step, attr *hcl.Attribute) {
	if s.Fanout == nil {
		s.Fanout = DefaultFanout()
		s.Fanout.DeclRange, s.Fanout.arg = attr.NameRange, attr.Name
	}
	f := s.Fanout
	switch attr.Name {
	case "parallel":
		decodeBetween(d, attr, &f.Parallel, 1, MaxParallel, "Invalid parallel",
			"parallel is how many hosts of the group run at once, from 1 to 1000.")
	case "batch_size":
		f.BatchSize, f.BatchPercent = d.decodeBatchSize(attr)
	case "max_failures":
		n := 0
		decodeBetween(d, attr, &n, 0, 1<<30, "Invalid max_failures",
			"max_failures is how many hosts may fail with the step still succeeding, 0 or more.")
		f.MaxFailures = &n
	case "max_fail_percentage":
		p := 0.0
		decodeBetween(d, attr, &p, 0, 100, "Invalid max_fail_percentage",
			"max_fail_percentage is the share of the group's hosts that may fail with the step still succeeding, from 0 to 100.")
		f.MaxFailPercent = &p
	}
}

// decodeBatchSize reads batch_size: a number of hosts (>= 1) or a
// percentage string of the group ("25%", from 1% to 100%).
func (d *decoder) decodeBatchSize(attr *hcl.Attribute) (size, percent int) {
	var v cty.Value
	if diags := decodeStatic(attr.Expr, nil, &v); diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return 0, 0
	}
	const detail = `batch_size is a number of hosts, like batch_size = 5, or a share of the group, like batch_size = "25%".`
	switch {
	case v.IsNull() || !v.IsKnown():
	case v.Type() == cty.Number:
		bf := v.AsBigFloat()
		if n, acc := bf.Int64(); acc == 0 && n >= 1 && n <= 1<<30 {
			return int(n), 0
		}
	case v.Type() == cty.String:
		digits, ok := strings.CutSuffix(strings.TrimSpace(v.AsString()), "%")
		if n, err := strconv.Atoi(strings.TrimSpace(digits)); ok && err == nil && n >= 1 && n <= 100 {
			return 0, n
		}
	}
	d.errorf(attr.Expr.Range(), "Invalid batch_size", "%s", detail)
	return 0, 0
}

// checkFanout checks how a step's fan-out arguments go together.
func (d *decoder) checkFanout(s *Step, content *hcl.BodyContent) {
	f := s.Fanout
	if f == nil {
		return
	}
	switch {
	case s.Target == nil:
		d.errorf(f.DeclRange, "Fan-out without a target",
			`%s applies to a step whose target is a group of hosts; add target = "GROUP", or remove it.`, f.arg)
	case s.ForEach != nil:
		d.errorf(f.DeclRange, "Fan-out with for_each",
			"A step runs either one instance per for_each element or one per host of its target's group, not both; remove %s or for_each.", f.arg)
	}
	if f.MaxFailures != nil && f.MaxFailPercent != nil {
		d.errorf(content.Attributes["max_fail_percentage"].Expr.Range(), "Conflicting step arguments",
			"Set either max_failures (a number of hosts) or max_fail_percentage (a share of the group), not both.")
	}
}
