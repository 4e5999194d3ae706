package dsl

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// checkWorkflowCalls reports steps that call an undeclared workflow and
// workflows that call each other in a cycle, which would never end.
func (d *decoder) checkWorkflowCalls(cfg *Config) {
	calls := map[string][]*Step{}
	for _, name := range sortedKeys(cfg.Workflows) {
		wf := cfg.Workflows[name]
		for _, set := range []map[string]*Step{wf.Steps, wf.OnFailure, wf.Finally} {
			for _, sn := range sortedKeys(set) {
				s := set[sn]
				if s.Workflow == "" {
					continue
				}
				if _, ok := cfg.Workflows[s.Workflow]; !ok {
					d.errorf(s.WorkflowRange, "Reference to undeclared workflow",
						"Step %q calls workflow %q, which is not declared. %s",
						s.Name, s.Workflow, Suggest(s.Workflow, sortedKeys(cfg.Workflows), "workflows"))
					continue
				}
				calls[name] = append(calls[name], s)
			}
		}
	}

	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []*Step)
	visit = func(name string, path []*Step) {
		state[name] = 1
		for _, s := range calls[name] {
			switch state[s.Workflow] {
			case 1:
				d.reportCallCycle(s.Workflow, append(path, s))
			case 0:
				visit(s.Workflow, append(path, s))
			}
		}
		state[name] = 2
	}
	for _, name := range sortedKeys(cfg.Workflows) {
		if state[name] == 0 {
			visit(name, nil)
		}
	}
}

// reportCallCycle reports the cycle that the last call of path closes back
// to workflow start, at that call.
func (d *decoder) reportCallCycle(start string, path []*Step) {
	i := len(path) - 1
	for i > 0 && path[i-1].Workflow != start {
		i--
	}
	names := []string{start}
	for _, s := range path[i:] {
		names = append(names, s.Workflow)
	}
	last := path[len(path)-1]
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Workflow call cycle",
		Detail:   "These workflows call each other in a cycle, which would never end: " + strings.Join(names, " → ") + ".",
		Subject:  last.WorkflowRange.Ptr(),
	})
}
