package engine

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/engine/state"
)

// releaseActions are the actions whose successful steps make a run a
// release: they put a container's image in service, and say which.
var releaseActions = map[string]bool{"docker.container": true, "docker.rollback": true}

// Release is a successful run that put containers in service: a deploy,
// or a rollback. Its services are every container the run declared,
// replaced or not, so a release is the whole state it left.
type Release struct {
	Run      *state.Run
	Services []ReleasedService
	// MigrationLevel is the database's migration level the run left
	// (postgres.migrate's level output), nil when it ran no migration.
	MigrationLevel *int64
}

// migrateAction is the action whose level output a release records.
const migrateAction = "postgres.migrate"

// ReleasedService is one container of a release.
type ReleasedService struct {
	// Step is the step instance's address (step.service["gateway"]).
	Step string `json:"step"`
	// Name is the container's name; ImageID the image it runs.
	Name    string `json:"name"`
	ImageID string `json:"image_id"`
	// ImageDigest is the image's digest in its registry ("sha256:...",
	// docker.container's image_digest), "" for an image no registry has
	// (built here and shipped without one).
	ImageDigest string `json:"image_digest,omitempty"`
	// Action is what the run did to it: created, replaced, started,
	// unchanged, rolled_back.
	Action string `json:"action"`
	// PreviousImageID is the image of the container it replaced, "" if
	// none.
	PreviousImageID string `json:"previous_image_id,omitempty"`
	// SpecHash and Spec are the container's spec as the action reported
	// it (docker.container: its canonical spec as JSON, env values
	// hashed), "" when it reported none.
	SpecHash string `json:"spec_hash,omitempty"`
	Spec     string `json:"spec,omitempty"`
	// Restores is the release a rollback put the container back to (its
	// release output), "" for a deploy.
	Restores string `json:"restores,omitempty"`
}

// Restores is the release this one put back, when it is a rollback
// whose every container went back to the same release, else "".
func (r *Release) Restores() string {
	to := ""
	for i, s := range r.Services {
		if s.Restores == "" || (i > 0 && s.Restores != to) {
			return ""
		}
		to = s.Restores
	}
	return to
}

// Releases lists env's releases, newest first, among its last limit
// successful runs (0: the store's default). A damaged ledger returns
// what could be read along with its error.
func Releases(ctx context.Context, store state.Store, env string, limit int) ([]*Release, error) {
	runs, err := store.ListRuns(ctx, state.Filter{Env: env, Status: state.StatusOK, Limit: limit})
	if err != nil && !errors.Is(err, state.ErrDamaged) {
		return nil, err
	}
	errs := []error{err}
	var out []*Release
	for _, r := range runs {
		steps, serr := store.Steps(ctx, r.ID)
		if serr != nil {
			errs = append(errs, serr)
			if !errors.Is(serr, state.ErrDamaged) {
				continue
			}
		}
		rel := &Release{Run: r}
		// A container several steps touched (a rollback's check, then
		// the rollback) is what the last one left.
		at := map[string]int{}
		for _, s := range lastAttempts(steps) {
			if s.Action == migrateAction && s.Status == state.StatusOK {
				rel.MigrationLevel = migrationLevel(s)
			}
			if !releaseActions[s.Action] || s.Status != state.StatusOK {
				continue
			}
			svc, ok := releasedService(s)
			if !ok {
				continue
			}
			if i, seen := at[svc.Name]; seen {
				rel.Services[i] = svc
				continue
			}
			at[svc.Name] = len(rel.Services)
			rel.Services = append(rel.Services, svc)
		}
		slices.SortFunc(rel.Services, func(a, b ReleasedService) int { return strings.Compare(a.Name, b.Name) })
		if len(rel.Services) > 0 {
			out = append(out, rel)
		}
	}
	return out, errors.Join(errs...)
}

// lastAttempts keeps each step instance's last attempt, in order.
func lastAttempts(steps []*state.Step) []*state.Step {
	last := map[string]int{}
	for i, s := range steps {
		last[s.Addr] = i
	}
	var out []*state.Step
	for i, s := range steps {
		if last[s.Addr] == i {
			out = append(out, s)
		}
	}
	return out
}

func releasedService(s *state.Step) (ReleasedService, bool) {
	v, err := loadOutputs(s.Outputs)
	if err != nil || !v.Type().IsObjectType() {
		return ReleasedService{}, false
	}
	str := func(name string) string {
		if !v.Type().HasAttribute(name) {
			return ""
		}
		a := v.GetAttr(name)
		if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
			return ""
		}
		return a.AsString()
	}
	svc := ReleasedService{Step: s.Addr, Name: str("name"), ImageID: str("image_id"), ImageDigest: str("image_digest"), Action: str("action"),
		PreviousImageID: str("previous_image_id"), SpecHash: str("spec_hash"), Spec: str("spec"),
		Restores: str("release")}
	return svc, svc.Name != "" && svc.ImageID != ""
}

// migrationLevel is a postgres.migrate step's level output.
func migrationLevel(s *state.Step) *int64 {
	v, err := loadOutputs(s.Outputs)
	if err != nil || !v.Type().IsObjectType() || !v.Type().HasAttribute("level") {
		return nil
	}
	l := v.GetAttr("level")
	if l.IsNull() || !l.IsKnown() || l.Type() != cty.Number {
		return nil
	}
	n, acc := l.AsBigFloat().Int64()
	if acc != big.Exact {
		return nil
	}
	return &n
}

// releasesType is the type of run.releases: the environment's releases,
// newest first, each with the image of every container it left running.
var releasesType = cty.List(cty.Object(map[string]cty.Type{
	"id":       cty.String,
	"workflow": cty.String,
	"commit":   cty.String,
	"version":  cty.String,
	"ended_at": cty.String,
	"images":   cty.Map(cty.String),
	"restores": cty.String,
	// null when the release applied no migration
	"migration_level": cty.Number,
}))

// releasesReader returns run.releases' reader for a run in env: the
// ledger is read the first time a step needs it, and once.
func releasesReader(ctx context.Context, store state.Store, env string) func() (cty.Value, error) {
	return sync.OnceValues(func() (cty.Value, error) {
		rels, err := Releases(ctx, store, env, 0)
		if err != nil {
			return cty.NilVal, err
		}
		return releasesValue(rels), nil
	})
}

func releasesValue(rels []*Release) cty.Value {
	ety := releasesType.ElementType()
	if len(rels) == 0 {
		return cty.ListValEmpty(ety)
	}
	vals := make([]cty.Value, len(rels))
	for i, rel := range rels {
		images := map[string]cty.Value{}
		for _, s := range rel.Services {
			images[s.Name] = cty.StringVal(s.ImageID)
		}
		vals[i] = cty.ObjectVal(map[string]cty.Value{
			"id":              cty.StringVal(rel.Run.ID),
			"workflow":        cty.StringVal(rel.Run.Workflow),
			"commit":          cty.StringVal(rel.Run.Commit),
			"version":         cty.StringVal(rel.Run.Params["version"]),
			"ended_at":        cty.StringVal(rel.Run.EndedAt.UTC().Format(time.RFC3339)),
			"images":          mapOrEmpty(images),
			"restores":        cty.StringVal(rel.Restores()),
			"migration_level": levelValue(rel.MigrationLevel),
		})
	}
	return cty.ListVal(vals)
}

func levelValue(l *int64) cty.Value {
	if l == nil {
		return cty.NullVal(cty.Number)
	}
	return cty.NumberIntVal(*l)
}

func mapOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.MapVal(m)
}
