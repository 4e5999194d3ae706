// Command zrun-plugin-greet is an example third-party zrun plugin: one
// action, greet.hello, written against the SDK alone. Build it into
// .zrun/plugins/ and a workflow can use it:
//
//	step "hi" {
//	  action = greet.hello
//	  name   = "ops"
//	  shout  = true
//	}
//
// and later steps can read step.hi.message.
package main

import (
	"context"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/plugin"
)

// HelloArgs are greet.hello's arguments.
type HelloArgs struct {
	Name  string `zrun:"name" help:"Who to greet."`
	Shout bool   `zrun:"shout,optional" help:"Greet in capitals."`
}

// HelloOutputs are greet.hello's outputs.
type HelloOutputs struct {
	Message string `zrun:"message" help:"The greeting."`
}

// log writes hclog JSON to stderr: zrun shows each line at its log level
// and records it with the step that runs.
var log = hclog.New(&hclog.LoggerOptions{Name: "greet", Level: hclog.Trace, JSONFormat: true})

func hello(_ context.Context, args HelloArgs, ui sdk.UI) (HelloOutputs, error) {
	log.Debug("greeting", "name", args.Name)
	msg := "hello, " + args.Name
	if args.Shout {
		log.Warn("shouting", "name", args.Name)
		msg = strings.ToUpper(msg) + "!"
	}
	ui.Logf("greeting %s", args.Name)
	return HelloOutputs{Message: msg}, nil
}

func greetPlugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:        "greet",
		Version:     "0.1.0",
		Description: "An example third-party plugin.",
		Actions: []sdk.Action{
			sdk.NewAction("hello", "Greet someone.", hello),
		},
	}
}

func main() { plugin.Serve(greetPlugin()) }
