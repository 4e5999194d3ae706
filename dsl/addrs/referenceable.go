package addrs

// Param is a workflow parameter, param.NAME.
type Param struct{ Name string }

func (Param) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (p Param) String() string { return RootParam + "." + p.Name }

// EnvValue is a value of the selected environment, env.NAME.
type EnvValue struct{ Name string }

func (EnvValue) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (e EnvValue) String() string { return RootEnv + "." + e.Name }

// Secret is a secret of the selected environment (or of the project),
// secret.NAME. Its value is a string marked sensitive.
type Secret struct{ Name string }

func (Secret) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (s Secret) String() string { return RootSecret + "." + s.Name }

// StepRef is a step of the current workflow, step.NAME. Its value is the
// object of the step's outputs, or a map of such objects keyed like the
// step's for_each (then step.NAME["key"] picks one instance).
type StepRef struct{ Name string }

func (StepRef) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (s StepRef) String() string { return RootStep + "." + s.Name }

// Attributes of the each object.
const (
	EachKey   = "key"
	EachValue = "value"
)

// Each is each.key or each.value inside a step with for_each.
type Each struct{ Attr string }

func (Each) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (e Each) String() string { return RootEach + "." + e.Attr }

// Attributes of the run object.
const (
	RunID        = "id"
	RunWorkflow  = "workflow"
	RunEnv       = "env"
	RunStartedAt = "started_at"
	// RunReleases is the environment's releases from the ledger, newest
	// first (see engine.Releases).
	RunReleases = "releases"
)

var runAttrs = []string{RunID, RunWorkflow, RunEnv, RunStartedAt, RunReleases}

// RunAttr is an attribute of the current run: run.id, run.workflow, run.env
// or run.started_at.
type RunAttr struct{ Name string }

func (RunAttr) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (r RunAttr) String() string { return RootRun + "." + r.Name }

// Self is the step's own outputs, self, in its postconditions.
type Self struct{}

func (Self) referenceableSigil() {}

// String returns the address in HCL traversal syntax.
func (Self) String() string { return RootSelf }

// Interface guards
var (
	_ Referenceable = Self{}
	_ Referenceable = Param{}
	_ Referenceable = EnvValue{}
	_ Referenceable = Secret{}
	_ Referenceable = StepRef{}
	_ Referenceable = Each{}
	_ Referenceable = RunAttr{}
)
