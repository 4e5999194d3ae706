package engine

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine/targets"
)

// HostConfigs resolves every host of env into the settings that reach it,
// sorted by name, with secrets (a key's passphrase) resolved through the
// runner's secret sources.
func (r *Runner) HostConfigs(env *dsl.Environment) ([]*targets.Config, hcl.Diagnostics) {
	return nil, nil // TODO(issue 8): host blocks, in progress
}
