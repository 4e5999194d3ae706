package dsl

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// Config is a whole project as parsed from its folder: zrun.hcl,
// workflows/*.hcl and environments/*.hcl. It is immutable once returned by
// Parser.LoadProject; expressions inside it are not evaluated.
type Config struct {
	// Dir is the project folder the config was loaded from.
	Dir string
	// Project holds the settings from zrun.hcl; never nil (zero value when
	// the file is absent).
	Project *Project
	// Workflows by name.
	Workflows map[string]*Workflow
	// Environments by name, each already merged with the ones it extends.
	Environments map[string]*Environment
	// Secrets declared outside any environment, by name: every
	// environment has them unless it declares its own of the same name.
	Secrets map[string]*Secret
	// Defaults are the top-level `defaults "PLUGIN"` blocks, by plugin:
	// arguments for every workflow's steps of that plugin.
	Defaults map[string]*Defaults
	// Files maps every parsed file name to its source, for rendering
	// diagnostics with snippets.
	Files map[string]*hcl.File
	// Hash is the sha256 (hex) of the content of every parsed file, in
	// file-name order, so a run can record which files it ran.
	Hash string
}

// Project is the `zrun` block of zrun.hcl.
type Project struct {
	Name            string
	RequiredPlugins map[string]*RequiredPlugin
	// Ledger says where runs are recorded; nil for the embedded ledger.
	Ledger    *Ledger
	DeclRange hcl.Range
}

// RequiredPlugin is one entry of `required_plugins`.
type RequiredPlugin struct {
	Name string
	// Version is the raw constraint string, e.g. ">= 1.0, < 2.0".
	Version   string
	DeclRange hcl.Range
}

// Workflow is a `workflow "NAME"` block.
type Workflow struct {
	Name        string
	Description string
	Params      map[string]*Param
	// ParamOrder lists params in declaration order.
	ParamOrder []string
	Steps      map[string]*Step
	// StepOrder lists the main steps in declaration order.
	StepOrder []string
	// OnFailure and Finally hold the steps of the `on_failure` and
	// `finally` blocks, keyed by name; names are unique across all three
	// sets within one workflow.
	OnFailure map[string]*Step
	Finally   map[string]*Step
	// OnFailureOrder and FinallyOrder list those steps in declaration order.
	OnFailureOrder []string
	FinallyOrder   []string
	Outputs        map[string]*Output
	OutputOrder    []string
	// Defaults are the workflow's `defaults "PLUGIN"` blocks, by plugin,
	// over the project's.
	Defaults map[string]*Defaults
	Timeout  *Duration // nil when unset
	// Lock is the key runs of the workflow exclude each other by; "" for
	// the environment's name.
	Lock      string
	DeclRange hcl.Range
	NameRange hcl.Range
}

// Param is a `param "NAME"` block.
type Param struct {
	Name        string
	Type        cty.Type  // cty.DynamicPseudoType when `type` is omitted
	Default     cty.Value // cty.NilVal when there is no default: the param is required
	Description string
	Sensitive   bool
	DeclRange   hcl.Range
}

// Required reports whether the caller must supply the param.
func (p *Param) Required() bool { return p.Default == cty.NilVal }

// StepKind tells where a step sits in its workflow.
type StepKind int

const (
	StepMain StepKind = iota
	StepOnFailure
	StepFinally
)

// Step is a `step "NAME"` block.
type Step struct {
	Name string
	Kind StepKind
	// Action is set when the step runs a plugin action (`action = http.check`).
	Action *addrs.Action
	// Workflow is set when the step calls another workflow (`workflow = "backup"`).
	Workflow      string
	WorkflowRange hcl.Range

	DependsOn []hcl.Traversal // each `step.NAME`
	When      hcl.Expression  // nil when unset
	ForEach   hcl.Expression  // nil when unset
	Target    hcl.Expression  // nil when unset: the local machine
	Fanout    *Fanout         // nil when no fan-out argument is set
	Retry     *Retry          // nil when unset
	// Preconditions are checked before the action runs, Postconditions
	// after it succeeded (they may read its outputs as self).
	Preconditions   []*Condition
	Postconditions  []*Condition
	Timeout         *Duration // nil when unset
	ContinueOnError bool

	// Body is what remains of the block once meta-arguments are taken out:
	// the action's own arguments (or the called workflow's params). It is
	// decoded later against the plugin's schema.
	Body hcl.Body

	DeclRange hcl.Range
	NameRange hcl.Range
}

// Condition is a step's `precondition` or `postcondition` block, as
// Terraform's: when Condition is false, the step fails with ErrorMessage.
type Condition struct {
	Kind         string         // "precondition" or "postcondition"
	Condition    hcl.Expression // nil when missing (a diagnostic said so)
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Retry is the `retry` block of a step.
type Retry struct {
	Attempts  int       // total attempts, >= 1
	Delay     Duration  // before the second attempt
	Backoff   float64   // multiplier applied to the delay after each attempt, >= 1
	MaxDelay  *Duration // cap on the delay, nil for none
	DeclRange hcl.Range
}

// Output is an `output "NAME"` block.
type Output struct {
	Name        string
	Description string
	Value       hcl.Expression
	Sensitive   bool
	DeclRange   hcl.Range
}

// Environment is an `environment "NAME"` block, linked to the one it
// extends. Its values, hosts and secrets are read through the chain
// (Value, Host, Secret; Values, Hosts, Secrets for all of them), so that
// a long chain is not copied into every environment of it.
type Environment struct {
	Name        string
	Description string
	// Extends is the name of the parent environment, "" for none.
	Extends string
	// Parent is the environment Extends names; nil for none, and when it
	// is undeclared or part of a cycle (both load errors).
	Parent *Environment
	// own is what the block declares; projectSecrets are the secrets
	// declared outside any environment, the chain's last resort.
	own            envDecls
	projectSecrets map[string]*Secret
	DeclRange      hcl.Range
}

// DefaultEnvironment stands in for an environment when the project
// declares none: no values, no hosts, the project-wide secrets.
func (c *Config) DefaultEnvironment() *Environment {
	return &Environment{Name: "default", projectSecrets: c.Secrets}
}

// Secret sources: where a secret's value comes from.
const (
	SecretEnv     = "env"     // a process environment variable; Value is its name
	SecretFile    = "file"    // a file's content; Value is its path
	SecretDotenv  = "dotenv"  // a key of a dotenv file; Value is its path
	SecretCommand = "command" // a command's standard output; Command is its argv
	SecretVault   = "vault"   // a key of a Vault KV v2 secret; Value is its path
)

// SecretSources lists the secret sources in the order they are documented.
var SecretSources = []string{SecretEnv, SecretFile, SecretDotenv, SecretCommand, SecretVault}

// Secret is a `secret "NAME"` block: where a value comes from, not the
// value. Paths are as written; relative ones are relative to the project
// folder. Reading it is engine/secrets' job.
type Secret struct {
	Name string
	// Source is one of SecretEnv, SecretFile, SecretDotenv, SecretCommand
	// and SecretVault.
	Source string
	// Value is the variable name (env), the path (file, dotenv) or the
	// Vault path (vault); empty for command.
	Value string
	// Key is the key in the dotenv file or the Vault secret; empty for
	// the other sources.
	Key string
	// Command is the program and its arguments (command), run without a
	// shell; nil for the other sources.
	Command   []string
	DeclRange hcl.Range
}

// AllSteps returns every step of the workflow: main steps, then
// on_failure, then finally, each set in declaration order.
func (w *Workflow) AllSteps() []*Step {
	out := make([]*Step, 0, len(w.Steps)+len(w.OnFailure)+len(w.Finally))
	for _, set := range []struct {
		order []string
		steps map[string]*Step
	}{{w.StepOrder, w.Steps}, {w.OnFailureOrder, w.OnFailure}, {w.FinallyOrder, w.Finally}} {
		for _, name := range set.order {
			out = append(out, set.steps[name])
		}
	}
	return out
}
