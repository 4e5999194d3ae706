package compose

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl/addrs"
)

// Result is an import: the HCL it wrote and what the user must know.
type Result struct {
	// Files are the HCL files, by path relative to Options.Out:
	// workflows/NAME.hcl and environments/ENV.hcl.
	Files map[string][]byte
	// Secrets are the secret references written, by environment.
	Secrets map[string][]SecretUse
	// Workflow is the name of the workflow written.
	Workflow string

	// expected are the containers compose runs in each environment as
	// docker.container's arguments, secrets in clear: for tests.
	expected map[string]map[string]map[string]cty.Value
}

// SecretUse is one secret reference of the workflow, as an environment
// reads it.
type SecretUse struct {
	Name     string   // secret.NAME
	Vars     []string // SERVICE.VAR: what takes its value
	Source   Source
	Problem  string // why the source may not give compose's value; "" if it does
	Inactive bool   // only services that do not run in this environment use it
}

// Expected returns the containers compose runs in env, each as the
// arguments of docker.container (step name → argument → value, secrets in
// clear): what evaluating the written HCL in env must give. For tests.
func (r *Result) Expected(env string) map[string]map[string]cty.Value { return r.expected[env] }

// importer holds one import while it is worked out.
type importer struct {
	opts     Options
	out      string // Options.Out, absolute
	envs     []*envProject
	parent   []int // index of each environment's parent in envs, -1 for none
	order    []int // envs, parents first
	services []*service
	networks []*resource
	volumes  []*resource
	warns    *warnings
	bugs     hcl.Diagnostics
}

// service is one compose service across the environments.
type service struct {
	name string // compose's
	step string // the step's, and its key in env.containers
	per  []*perEnv
}

// perEnv is a service in one environment; nil where it is not defined.
type perEnv struct {
	ep     *envProject
	cfg    types.ServiceConfig
	active bool
	c      *container
	// secrets are the variables of c.env that are secrets, traced.
	secrets map[string]trace
}

// Convert imports the compose files of every environment of opts.
func Convert(ctx context.Context, opts Options) (*Result, hcl.Diagnostics) {
	im := &importer{opts: opts, warns: newWarnings(len(opts.Envs))}
	if im.opts.Workflow == "" {
		im.opts.Workflow = "containers"
	}
	diags := im.checkOptions()
	if diags.HasErrors() {
		return nil, diags
	}
	for i, env := range opts.Envs {
		ep, logged, moreDiags := load(ctx, opts, env)
		diags = append(diags, moreDiags...)
		for _, line := range logged {
			// A warning about a file is the file's, whichever
			// environment read it first.
			at := i
			if ep != nil {
				for _, f := range ep.files {
					if strings.Contains(line, f) {
						line, at = strings.ReplaceAll(line, f, relTo(filepath.Dir(ep.files[0]), f)), -1
					}
				}
			}
			im.warns.add(at, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Compose warns", Detail: line})
		}
		im.envs = append(im.envs, ep)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	im.collect()
	im.traceSecrets()
	res := im.render()
	if len(im.bugs) > 0 {
		return nil, append(diags, im.bugs...)
	}
	res.expected = im.expectedArgs()
	return res, append(diags, im.warns.diags(opts.Envs)...)
}

// checkOptions checks the environments' names and parents.
func (im *importer) checkOptions() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(im.opts.Envs) == 0 {
		diags = append(diags, errorf("No environment", "Name at least one environment and its override files: --env dev=docker-compose.override.dev.yml."))
	}
	if !addrs.ValidName(im.opts.Workflow) {
		diags = append(diags, errorf("Invalid workflow name", "%q is not a valid name: a letter, then letters, digits, underscores and dashes.", im.opts.Workflow))
	}
	out, err := filepath.Abs(im.opts.Out)
	if err != nil {
		diags = append(diags, errorf("Invalid output folder", "%s.", err))
	}
	im.out = out
	index := map[string]int{}
	for i, e := range im.opts.Envs {
		if !addrs.ValidName(e.Name) {
			diags = append(diags, errorf("Invalid environment name", "%q is not a valid environment name: a letter, then letters, digits, underscores and dashes.", e.Name))
		}
		if _, dup := index[e.Name]; dup {
			diags = append(diags, errorf("Duplicate environment", "Environment %q is given twice.", e.Name))
		}
		index[e.Name] = i
	}
	im.parent = make([]int, len(im.opts.Envs))
	for i, e := range im.opts.Envs {
		im.parent[i] = -1
		if e.Extends == "" {
			continue
		}
		p, ok := index[e.Extends]
		if !ok {
			diags = append(diags, errorf("Unknown parent environment", "Environment %q extends %q, which is not one of the environments imported.", e.Name, e.Extends))
			continue
		}
		im.parent[i] = p
	}
	if diags.HasErrors() {
		return diags
	}
	// Parents first; a cycle is an error.
	state := make([]int, len(im.opts.Envs))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case 1:
			return false
		case 2:
			return true
		}
		state[i] = 1
		if p := im.parent[i]; p >= 0 && !visit(p) {
			return false
		}
		state[i] = 2
		im.order = append(im.order, i)
		return true
	}
	for i := range im.opts.Envs {
		if !visit(i) {
			return append(diags, errorf("Environment cycle", "Environment %q extends itself through its parents.", im.opts.Envs[i].Name))
		}
	}
	return diags
}

// collect maps every service of every environment to a container, and
// the networks and volumes they use to their steps.
func (im *importer) collect() {
	names := map[string]bool{}
	for _, ep := range im.envs {
		for n := range ep.project.Services {
			names[n] = true
		}
	}
	taken := map[string]bool{}
	byName := map[string]*service{}
	for _, n := range sortedKeys(names) {
		s := &service{name: n, step: unique(stepName(n), taken), per: make([]*perEnv, len(im.envs))}
		byName[n] = s
		im.services = append(im.services, s)
		for i, ep := range im.envs {
			cfg, ok := ep.project.Services[n]
			if !ok {
				continue
			}
			skip := func(key, why string) {
				im.warns.add(i, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Not imported",
					Detail:   fmt.Sprintf("Service %s: %s is not imported: %s", n, key, why),
					Subject:  position(ep.files, append([]string{"services", n}, strings.Split(key, ".")...)...),
				})
			}
			s.per[i] = &perEnv{ep: ep, cfg: cfg, active: ep.active[n], c: newContainer(ep.project, cfg, skip)}
		}
		if !slices.ContainsFunc(s.per, func(p *perEnv) bool { return p != nil && p.active }) {
			im.warns.add(-1, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Not imported",
				Detail: fmt.Sprintf("Service %s runs in none of the environments (its profiles are not selected): it has no step.", n)})
			im.services = im.services[:len(im.services)-1]
			delete(byName, n)
		}
	}
	for i, ep := range im.envs {
		for _, kind := range []string{"secrets", "configs", "models"} {
			if r := position(ep.files, kind); r != nil {
				im.warns.add(i, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Not imported", Subject: r,
					Detail: fmt.Sprintf("The top-level %s are not imported: zrun has no %s of Docker's. Read secrets with secret blocks, and upload files with ssh.upload.", kind, kind)})
			}
		}
	}
	im.networks = im.resources("network", taken, func(c *container) []string { return c.networks })
	im.volumes = im.resources("volume", taken, func(c *container) []string { return c.volumes })
	for _, s := range im.services {
		for _, p := range s.per {
			if p == nil {
				continue
			}
			p.c.dependsOn = slices.DeleteFunc(p.c.dependsOn, func(d string) bool { return byName[d] == nil })
			for j, d := range p.c.dependsOn {
				p.c.dependsOn[j] = byName[d].step
			}
		}
	}
}

// stepName makes a compose name a zrun name: a letter first, then
// letters, digits, underscores and dashes.
func stepName(n string) string {
	var b strings.Builder
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	s := b.String()
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		s = "s" + s
	}
	return s
}

// unique returns name, or name_2, name_3... if taken, and takes it.
func unique(name string, taken map[string]bool) string {
	n := name
	for i := 2; taken[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	taken[n] = true
	return n
}

// resource is a network or a volume of the project, created by a step.
type resource struct {
	key   string // compose's
	step  string
	kind  string // "network" or "volume"
	args  map[string]cty.Value
	users []int // environments where an active service uses it
}

// resources returns the project's networks or volumes that services use,
// as steps; an external one is compose's to find, not to create.
func (im *importer) resources(kind string, taken map[string]bool, uses func(*container) []string) []*resource {
	byKey := map[string]*resource{}
	for _, s := range im.services {
		for i, p := range s.per {
			if p == nil {
				continue
			}
			for _, key := range uses(p.c) {
				r, ok := byKey[key]
				if !ok {
					r = im.resource(kind, key, i)
					byKey[key] = r
				}
				if r != nil && p.active && !slices.Contains(r.users, i) {
					r.users = append(r.users, i)
				}
			}
		}
	}
	var out []*resource
	for _, key := range sortedKeys(byKey) {
		if r := byKey[key]; r != nil {
			r.step = unique(kind+"-"+stepName(key), taken)
			out = append(out, r)
		}
	}
	return out
}

// resource maps the network or volume key of environment i; nil when it
// is external.
func (im *importer) resource(kind, key string, i int) *resource {
	ep := im.envs[i]
	r := &resource{key: key, kind: kind, args: map[string]cty.Value{}}
	skip := func(field, why string) {
		im.warns.add(i, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Not imported",
			Detail:  fmt.Sprintf("The %s %s: %s is not imported: %s", kind, key, field, why),
			Subject: position(ep.files, kind+"s", key, field)})
	}
	var name, driver, deflt string
	var labels types.Labels
	switch kind {
	case "network":
		n := ep.project.Networks[key]
		if n.External {
			return nil
		}
		name, driver, labels, deflt = n.Name, n.Driver, n.Labels, "bridge"
		if n.Internal {
			r.args["internal"] = cty.True
		}
		unsupported(reflect.ValueOf(n), "", map[string]bool{"name": true, "driver": true, "internal": true, "labels": true}, skip)
	default:
		v := ep.project.Volumes[key]
		if v.External {
			return nil
		}
		name, driver, labels, deflt = v.Name, v.Driver, v.Labels, "local"
		unsupported(reflect.ValueOf(v), "", map[string]bool{"name": true, "driver": true, "labels": true}, skip)
	}
	if name == "" {
		name = ep.project.Name + "_" + key
	}
	r.args["name"] = cty.StringVal(name)
	if driver != "" && driver != deflt {
		r.args["driver"] = cty.StringVal(driver)
	}
	if v := stringMap(labels); v != cty.NilVal {
		r.args["labels"] = v
	}
	return r
}

// traceSecrets finds where each secret of each container comes from.
func (im *importer) traceSecrets() {
	for _, s := range im.services {
		for _, p := range s.per {
			if p == nil {
				continue
			}
			p.secrets = map[string]trace{}
			for k := range p.c.env {
				if IsSecret(k) {
					p.secrets[k] = p.ep.traceSecret(p.cfg, k)
				}
			}
		}
	}
}

// envNames lists environment names for a message.
func envNames(envs []Env, idx []int) string {
	var names []string
	for _, i := range idx {
		names = append(names, envs[i].Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// expectedArgs are the containers compose runs in each environment, as
// docker.container's arguments.
func (im *importer) expectedArgs() map[string]map[string]map[string]cty.Value {
	out := map[string]map[string]map[string]cty.Value{}
	for i, env := range im.opts.Envs {
		out[env.Name] = map[string]map[string]cty.Value{}
		for _, s := range im.services {
			if !im.active(s, i) {
				continue
			}
			c := s.per[i].c
			args := maps.Clone(c.args)
			if len(c.env) > 0 {
				env := map[string]cty.Value{}
				for k, v := range c.env {
					env[k] = cty.StringVal(v)
				}
				args["env"] = cty.MapVal(env)
			}
			out[env.Name][s.step] = args
		}
	}
	return out
}
