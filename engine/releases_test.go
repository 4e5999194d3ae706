package engine

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/boltstore"
)

// A release is a successful run with container steps; its services are
// the last attempt of each, failed runs and other actions left out.
func TestReleases(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := t.Context()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	container := func(name, image, action, prev string) []byte {
		digest := ""
		if name == "db" { // pulled from a registry; the others built here
			digest = "sha256:ddd0"
		}
		return storableOutputs(cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal(name), "image_id": cty.StringVal(image), "action": cty.StringVal(action),
			"previous_image_id": cty.StringVal(prev), "changed": cty.BoolVal(action != "unchanged"),
			"image_digest": cty.StringVal(digest),
		}))
	}
	runs := []struct {
		id, env string
		status  state.Status
		steps   []*state.Step
	}{
		{"r1", "prod", state.StatusOK, []*state.Step{
			{Addr: `step.service["web"]`, Action: "docker.container", Attempt: 1, Status: state.StatusOK, Outputs: container("web", "sha256:aaa", "created", "")},
			{Addr: "step.binary", Action: "exec.run", Attempt: 1, Status: state.StatusOK},
		}},
		{"r2", "prod", state.StatusFailed, []*state.Step{
			{Addr: `step.service["web"]`, Action: "docker.container", Attempt: 1, Status: state.StatusFailed},
		}},
		{"r3", "stage", state.StatusOK, []*state.Step{
			{Addr: `step.service["web"]`, Action: "docker.container", Attempt: 1, Status: state.StatusOK, Outputs: container("web", "sha256:sss", "created", "")},
		}},
		{"r4", "prod", state.StatusOK, []*state.Step{
			{Addr: `step.service["web"]`, Action: "docker.container", Attempt: 1, Status: state.StatusFailed},
			{Addr: `step.service["web"]`, Action: "docker.container", Attempt: 2, Status: state.StatusOK, Outputs: container("web", "sha256:bbb", "replaced", "sha256:aaa")},
			{Addr: `step.service["db"]`, Action: "docker.container", Attempt: 1, Status: state.StatusOK, Outputs: container("db", "sha256:ddd", "unchanged", "")},
			// a rollback's check before its rollback: the last one counts
			{Addr: `step.check["web"]`, Action: "docker.rollback", Attempt: 1, Status: state.StatusOK, Outputs: container("web", "sha256:zzz", "unchanged", "")},
			{Addr: `step.again["web"]`, Action: "docker.rollback", Attempt: 1, Status: state.StatusOK, Outputs: container("web", "sha256:bbb", "replaced", "sha256:aaa")},
			{Addr: "step.migrate", Action: "postgres.migrate", Attempt: 1, Status: state.StatusOK,
				Outputs: storableOutputs(cty.ObjectVal(map[string]cty.Value{"level": cty.NumberIntVal(3)}))},
		}},
		{"r5", "prod", state.StatusOK, []*state.Step{ // a health check only: no release
			{Addr: "step.health", Action: "http.check", Attempt: 1, Status: state.StatusOK},
		}},
	}
	for i, r := range runs {
		start := at.Add(time.Duration(i) * time.Minute)
		if err := store.CreateRun(ctx, &state.Run{ID: r.id, Workflow: "deploy", Env: r.env, Status: state.StatusRunning, StartedAt: start, Commit: "c" + r.id}); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.steps {
			s.RunID, s.StartedAt, s.EndedAt = r.id, start, start
		}
		if err := store.PutSteps(ctx, r.steps); err != nil {
			t.Fatal(err)
		}
		if err := store.FinishRun(ctx, r.id, r.status, "", nil, start.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	rels, err := Releases(ctx, store, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Run      string
		Commit   string
		Services []ReleasedService
		Level    *int64
	}
	var have []got
	for _, r := range rels {
		have = append(have, got{r.Run.ID, r.Run.Commit, r.Services, r.MigrationLevel})
	}
	three := int64(3)
	want := []got{
		{"r4", "cr4", []ReleasedService{
			{Step: `step.service["db"]`, Name: "db", ImageID: "sha256:ddd", ImageDigest: "sha256:ddd0", Action: "unchanged"},
			{Step: `step.again["web"]`, Name: "web", ImageID: "sha256:bbb", Action: "replaced", PreviousImageID: "sha256:aaa"},
		}, &three},
		{"r1", "cr1", []ReleasedService{{Step: `step.service["web"]`, Name: "web", ImageID: "sha256:aaa", Action: "created"}}, nil},
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("Releases (-want +got):\n%s", diff)
	}
}

// run.releases reads the environment's releases from the ledger, newest
// first, so a rollback workflow can name the images of the one before.
func TestRunReleasesValue(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := t.Context()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, img := range []string{"sha256:old", "sha256:new"} {
		id := fmt.Sprintf("r%d", i)
		start := at.Add(time.Duration(i) * time.Minute)
		store.CreateRun(ctx, &state.Run{ID: id, Workflow: "deploy", Env: "prod", Status: state.StatusRunning, StartedAt: start,
			Params: map[string]string{"version": fmt.Sprint("1.", i)}})
		out := storableOutputs(cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("web"), "image_id": cty.StringVal(img), "action": cty.StringVal("replaced")}))
		store.PutSteps(ctx, []*state.Step{{RunID: id, Addr: "step.web", Action: "docker.container", Attempt: 1, Status: state.StatusOK, StartedAt: start, EndedAt: start, Outputs: out}})
		store.FinishRun(ctx, id, state.StatusOK, "", nil, start.Add(time.Second))
	}
	m := newMock()
	r := New(Options{Config: project(t, map[string]string{"zrun.hcl": `
environment "prod" {}
workflow "w" {
  step "s" {
    action = mock.echo
    value  = "${length(run.releases)} ${run.releases[1].id} ${run.releases[1].version} ${run.releases[1].images["web"]} ${run.releases[0].migration_level == null}"
  }
}`}), Plugins: m, Ledger: store})
	res, diags := r.Run(ctx, RunRequest{Workflow: "w", Env: "prod"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := res.Steps["step.s"].Outputs.GetAttr("value").AsString(); got != "2 r0 1.0 sha256:old true" {
		t.Errorf("run.releases read as %q", got)
	}
}
