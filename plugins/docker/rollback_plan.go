package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/zrun-dev/zrun/sdk"
)

// planRollback says what docker.rollback would do: "roll back NAME to
// IMAGE (release R)" and the kept container it starts, "unchanged NAME",
// or the refusal the run would fail with, as an error.
func planRollback(ctx context.Context, a rollbackArgs, known sdk.Known, target sdk.Target) (*sdk.PlanResponse, error) {
	env, _ := ctx.Value(planEnvKey{}).(string)
	if !known.Has("name") {
		return changes("roll back a container (its name is known at run time)"), nil
	}
	for _, arg := range []string{"releases", "release", "image_id"} {
		if !known.Has(arg) {
			return changes(fmt.Sprintf("roll back %s (to what is known at run time: %s)", a.Name, arg)), nil
		}
	}
	var c *client.Client
	if target != nil && known.Has("socket") {
		var err error
		if c, err = connect(ctx, target, a.Socket); err != nil {
			return nil, err
		}
		defer c.Close()
	}
	g, err := a.goal(ctx, c, env)
	if err != nil {
		return nil, err
	}
	verb := "roll back"
	if a.Check {
		verb = "check that it can roll back"
	}
	line := fmt.Sprintf("%s %s to %s", verb, a.Name, g.about())
	if c == nil {
		return changes(line), nil
	}
	p, err := findRollback(ctx, c, a.Name, g)
	if err != nil {
		return nil, err
	}
	if p.unchanged() {
		return &sdk.PlanResponse{Changes: []string{fmt.Sprintf("unchanged %s (it runs %s)", a.Name, g.about())}, NoOp: true}, nil
	}
	detail := "  from its kept container " + p.kept.Name[1:]
	if p.cur != nil {
		detail += fmt.Sprintf("; %s (%s) is kept in turn", a.Name, imageShort(p.cur.Image))
	}
	return &sdk.PlanResponse{Changes: []string{line, detail}, NoOp: a.Check}, nil
}
