package compose

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// warnings collects the import's warnings, each once however many
// environments have it, in the order first seen.
type warnings struct {
	nenvs int
	order []string
	byKey map[string]*warning
}

type warning struct {
	diag *hcl.Diagnostic
	envs []int
	all  bool // not about one environment
}

func newWarnings(nenvs int) *warnings { return &warnings{nenvs: nenvs, byKey: map[string]*warning{}} }

// add records d in environment env, or in none for -1.
func (w *warnings) add(env int, d *hcl.Diagnostic) {
	k := d.Summary + "\x00" + d.Detail
	if d.Subject != nil {
		k += "\x00" + d.Subject.String()
	}
	x, ok := w.byKey[k]
	if !ok {
		x = &warning{diag: d}
		w.byKey[k] = x
		w.order = append(w.order, k)
	}
	if env < 0 {
		x.all = true
	} else if !slices.Contains(x.envs, env) {
		x.envs = append(x.envs, env)
	}
}

// diags returns the warnings, each naming its environments unless it is
// in all of them.
func (w *warnings) diags(envs []Env) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, k := range w.order {
		x := w.byKey[k]
		d := *x.diag
		if !x.all && len(x.envs) < w.nenvs {
			d.Detail = fmt.Sprintf("%s (In %s.)", d.Detail, envNames(envs, x.envs))
		}
		out = append(out, &d)
	}
	return out
}
