package ufw

import (
	"context"
	"errors"

	"github.com/zrun-dev/zrun/sdk"
)

type statusArgs struct {
	Sudo *bool `zrun:"sudo" help:"Run through sudo -n. Default: true (a root login reads directly)."`
}

type statusOutputs struct {
	Active   bool              `zrun:"active" help:"Whether ufw is enabled (ENABLED=yes in /etc/ufw/ufw.conf)."`
	Logging  string            `zrun:"logging" help:"The logging level: off, low, medium, high or full."`
	Defaults map[string]string `zrun:"defaults" help:"The default policies: incoming, outgoing and routed, each allow, deny or reject."`
	Rules    []string          `zrun:"rules" help:"The rules zrun manages, in ufw's order, as ufw.rules shows them (\"allow 22/tcp from any\")."`
	Others   []string          `zrun:"others" help:"The rules zrun leaves alone (application profiles, routed and logged rules), as their lines in the rules files."`
}

func newStatus() sdk.Action {
	return sdk.NewAction("status", "Read ufw's state on the target (changes nothing): whether it is active, its default policies, logging level and rules.", runStatus)
}

func runStatus(ctx context.Context, a statusArgs, ui sdk.UI) (statusOutputs, error) {
	if ui == nil || ui.Target() == nil {
		return statusOutputs{}, errors.New("the host gave the step no target")
	}
	_, _, s, err := connect(ctx, ui.Target(), a.Sudo)
	if err != nil {
		return statusOutputs{}, err
	}
	out := statusOutputs{Active: s.Enabled, Logging: s.Logging, Defaults: s.Defaults, Rules: []string{}, Others: s.Others}
	for _, r := range s.Rules {
		out.Rules = append(out.Rules, r.String())
	}
	if out.Others == nil {
		out.Others = []string{}
	}
	return out, nil
}

// Interface guards
var _ sdk.Action = newStatus()
