package compose

import "github.com/zclconf/go-cty/cty"

// Arg is one argument of a docker action that the import writes, with
// the type docs/docker-plugin.md gives it.
type Arg struct {
	Name     string
	Type     cty.Type
	Required bool
}

// ContainerArgs are the arguments of docker.container the import writes,
// in the order of the contract's table (docs/docker-plugin.md), which is
// the order they are written in. This is the one place that names them:
// a test checks it against the docker plugin's schema.
var ContainerArgs = []Arg{
	{Name: "name", Type: cty.String, Required: true},
	{Name: "image", Type: cty.String, Required: true},
	{Name: "command", Type: cty.List(cty.String)},
	{Name: "entrypoint", Type: cty.List(cty.String)},
	{Name: "env", Type: cty.Map(cty.String)},
	{Name: "ports", Type: cty.List(cty.String)},
	{Name: "volumes", Type: cty.List(cty.String)},
	{Name: "networks", Type: cty.Map(cty.List(cty.String))},
	{Name: "restart", Type: cty.String},
	{Name: "memory", Type: cty.String},
	{Name: "memory_reservation", Type: cty.String},
	{Name: "cpus", Type: cty.Number},
	{Name: "cpu_shares", Type: cty.Number},
	{Name: "health_cmd", Type: cty.List(cty.String)},
	{Name: "health_interval", Type: cty.String},
	{Name: "health_timeout", Type: cty.String},
	{Name: "health_start_period", Type: cty.String},
	{Name: "health_retries", Type: cty.Number},
	{Name: "labels", Type: cty.Map(cty.String)},
	{Name: "user", Type: cty.String},
	{Name: "working_dir", Type: cty.String},
	{Name: "stop_timeout", Type: cty.String},
}

// NetworkArgs and VolumeArgs are the arguments of docker.network and
// docker.volume the import writes.
var (
	NetworkArgs = []Arg{
		{Name: "name", Type: cty.String, Required: true},
		{Name: "driver", Type: cty.String},
		{Name: "internal", Type: cty.Bool},
		{Name: "labels", Type: cty.Map(cty.String)},
	}
	VolumeArgs = []Arg{
		{Name: "name", Type: cty.String, Required: true},
		{Name: "driver", Type: cty.String},
		{Name: "labels", Type: cty.Map(cty.String)},
	}
)

// The actions the import writes steps for.
const (
	ContainerAction = "docker.container"
	NetworkAction   = "docker.network"
	VolumeAction    = "docker.volume"
)

// ArgType returns the type of the named argument of args.
func ArgType(args []Arg, name string) (cty.Type, bool) {
	for _, a := range args {
		if a.Name == name {
			return a.Type, true
		}
	}
	return cty.NilType, false
}
