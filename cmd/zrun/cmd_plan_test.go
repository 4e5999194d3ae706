package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zrun-dev/zrun/engine"
)

// TestPrintPlanHosts: a planned step says the host it runs on, and one
// host of a group its batch.
func TestPrintPlanHosts(t *testing.T) {
	var out bytes.Buffer
	a := newApp(&out, &out)
	a.printPlan(&engine.Plan{Workflow: "w", Env: "prod", Steps: []*engine.PlannedStep{
		{Addr: "step.here", Action: "exec.run", Kind: "main"},
		{Addr: "step.db", Action: "exec.run", Kind: "main", Host: "db"},
		{Addr: `step.x["web1"]`, Action: "exec.run", Kind: "main", Host: "web1", Group: "web", Batch: 1, Batches: 2, Parallel: 10},
		{Addr: "step.y", Action: "exec.run", Kind: "main", Group: "none", Skip: true, Changes: []string{`skipped: group "none" has no hosts`}},
	}}, "zrun workflow w --env prod")
	want := `Plan: workflow "w" in environment "prod"

+ step.here  exec.run
+ step.db  exec.run  on db
+ step.x["web1"]  exec.run  on web1 (group web, batch 1 of 2, 10 at once)
- step.y  exec.run  on group none
      skipped: group "none" has no hosts

4 step(s). Nothing was run. Run it with: zrun workflow w --env prod
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}
