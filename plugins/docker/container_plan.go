package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/docker/go-units"

	"github.com/zrun-dev/zrun/sdk"
)

// planContainer says what docker.container would do on the target:
// "create NAME (IMAGE)", "unchanged NAME", "start NAME", or "replace
// NAME:" and one line per field that differs. Env values are never shown,
// old or new: only which variables changed.
func planContainer(ctx context.Context, a containerArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	if !known.Has("name") {
		return changes("create or replace a container (its name is known at run time)"), nil
	}
	if target == nil || !known.Has("socket") {
		return changes(fmt.Sprintf("create or replace %s (%s)", a.Name, imageText(a, known))), nil
	}
	c, err := connect(ctx, target, a.Socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cur, err := containerByName(ctx, c, a.Name)
	if err != nil {
		return nil, err
	}
	var note []string
	if cur == nil {
		// An interrupted run's old container is renamed back first.
		if cur, err = containerByName(ctx, c, a.Name+oldSuffix); err != nil {
			return nil, err
		}
		if cur != nil {
			note = append(note, fmt.Sprintf("  (%s, swapped out by an interrupted run, is renamed back first)", a.Name+oldSuffix))
		}
	}
	if cur == nil {
		return changes(fmt.Sprintf("create %s (%s)", a.Name, imageText(a, known))), nil
	}
	if !managed(cur) {
		return nil, notManagedError(a.Name)
	}
	if !known.All() {
		return changes(append([]string{fmt.Sprintf("replace or keep %s (its spec is known at run time)", a.Name)}, note...)...), nil
	}
	want, diags := parseContainer(a, known)
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	if want.spec.Image, err = containerImageID(ctx, c, nil, a.Image, false); err != nil {
		return nil, err
	}
	if want.spec.Image == "" {
		want.spec.Image = a.Image + " (pulled at run time)"
	}
	_, hash := want.spec.label()
	if hash == cur.Config.Labels[labelSpec] {
		if cur.State != nil && cur.State.Running && len(note) == 0 {
			return &sdk.PlanResponse{Changes: []string{"unchanged " + a.Name}, NoOp: true}, nil
		}
		return changes(append([]string{"start " + a.Name + " (stopped, its spec unchanged)"}, note...)...), nil
	}
	lines := append([]string{"replace " + a.Name + ":"}, note...)
	var old spec
	if err := json.Unmarshal([]byte(cur.Config.Labels[labelSpecJSON]), &old); err != nil {
		return changes(append(lines, "  (its recorded spec cannot be read: every field may change)")...), nil
	}
	return changes(append(lines, specDiff(old, want.spec.redacted())...)...), nil
}

func changes(lines ...string) *sdk.PlanResponse { return &sdk.PlanResponse{Changes: lines} }

// imageText is the image argument for a plan line.
func imageText(a containerArgs, known sdk.Known) string {
	if !known.Has("image") {
		return "image known at run time"
	}
	return a.Image
}

// specDiff is one line per field of the two redacted specs that differs,
// in the spec's order: "  image: sha256:abc123def456 -> sha256:0123456789ab",
// "  env.LOG_LEVEL: changed", `  ports: ["8080:8080"] -> ["8081:8080"]`.
func specDiff(old, cur spec) []string {
	var lines []string
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(cur)
	for i := range ov.NumField() {
		field, _, _ := strings.Cut(ov.Type().Field(i).Tag.Get("json"), ",")
		o, n := ov.Field(i).Interface(), nv.Field(i).Interface()
		if reflect.DeepEqual(o, n) {
			continue
		}
		switch field {
		case "env":
			lines = append(lines, envDiff(old.Env, cur.Env)...)
		case "image":
			lines = append(lines, fmt.Sprintf("  image: %s -> %s", imageShort(old.Image), imageShort(cur.Image)))
		case "memory", "memory_reservation":
			lines = append(lines, fmt.Sprintf("  %s: %s -> %s", field, sizeText(o.(int64)), sizeText(n.(int64))))
		default:
			lines = append(lines, fmt.Sprintf("  %s: %s -> %s", field, valueText(o), valueText(n)))
		}
	}
	if len(lines) == 0 {
		// Same fields, another hash: a spec recorded by another version.
		lines = append(lines, "  (recorded by another version of zrun: recreated the same)")
	}
	return lines
}

// envDiff names the variables added, removed or changed; values never.
func envDiff(old, cur map[string]string) []string {
	var keys []string
	for k := range old {
		keys = append(keys, k)
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var lines []string
	for _, k := range keys {
		o, inOld := old[k]
		n, inNew := cur[k]
		switch {
		case !inOld:
			lines = append(lines, "  env."+k+": added")
		case !inNew:
			lines = append(lines, "  env."+k+": removed")
		case o != n:
			lines = append(lines, "  env."+k+": changed")
		}
	}
	return lines
}

// imageShort is an image ID as "sha256:" and 12 hex digits.
func imageShort(id string) string {
	if strings.HasPrefix(id, "sha256:") {
		return "sha256:" + shortID(id)
	}
	return id
}

func sizeText(n int64) string {
	if n == 0 {
		return "(none)"
	}
	return units.BytesSize(float64(n))
}

// valueText is a spec field's value as JSON; an empty one is "(none)".
func valueText(v any) string {
	if reflect.ValueOf(v).IsZero() {
		return "(none)"
	}
	b := marshalPlain(v)
	if bytes.Equal(b, []byte("null")) {
		return "(none)"
	}
	return string(b)
}
