package dsl

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// HostsValue is the name under which an environment's hosts are read
// (env.hosts.NAME); no environment value may take it.
const HostsValue = "hosts"

// rawEnv is an environment as declared, before inheritance.
type rawEnv struct {
	*Environment
	nameRange    hcl.Range
	extendsRange hcl.Range
}

// decodeEnvironment decodes an `environment "NAME"` block. Its values are
// evaluated here, with functions but no variables.
func (d *decoder) decodeEnvironment(block *hcl.Block) *rawEnv {
	env := &rawEnv{
		Environment: &Environment{
			Name: block.Labels[0],
			own: envDecls{
				values:  map[string]cty.Value{},
				ranges:  map[string]hcl.Range{},
				hosts:   map[string]*Host{},
				groups:  map[string]*Group{},
				secrets: map[string]*Secret{},
			},
			DeclRange: block.DefRange,
		},
		nameRange: block.LabelRanges[0],
	}
	body, ok := block.Body.(*hclsyntax.Body)
	if !ok {
		// Only native syntax is loaded; this is a guard, not a feature.
		d.errorf(block.DefRange, "Unsupported syntax", "Environments must be written in native HCL syntax.")
		return env
	}
	for _, attr := range syntaxAttributes(body) {
		switch attr.Name {
		case "description":
			d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &env.Description)...)
		case "extends":
			env.extendsRange = attr.Expr.Range()
			d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &env.Extends)...)
		case "protected":
			var p bool
			moreDiags := decodeStatic(attr.Expr, nil, &p)
			d.diags = append(d.diags, moreDiags...)
			if !moreDiags.HasErrors() {
				env.own.protected, env.own.protectedRange = &p, attr.SrcRange
			}
		case HostsValue:
			d.errorf(attr.NameRange, "Reserved environment value name",
				"env.hosts holds the environment's host blocks; declare machines with host \"NAME\" { address = \"...\" }.")
		default:
			env.own.values[attr.Name] = d.evalValue(attr)
			env.own.ranges[attr.Name] = attr.SrcRange
		}
	}
	for _, b := range body.Blocks {
		block := b.AsHCLBlock()
		switch b.Type {
		case "host":
			if d.oneLabel(block, `host "web" { ... }`) && claim(d, "host", block, env.own.hosts, func(h *Host) hcl.Range { return h.DeclRange }) {
				env.own.hosts[b.Labels[0]] = d.decodeHost(b)
			}
		case "group":
			if d.oneLabel(block, `group "web" { hosts = ["web1", "web2"] }`) && claim(d, "group", block, env.own.groups, func(g *Group) hcl.Range { return g.DeclRange }) {
				env.own.groups[b.Labels[0]] = d.decodeGroup(b)
			}
		case "secret":
			if d.oneLabel(block, `secret "db_password" { env = "DB_PASSWORD" }`) && claim(d, "secret", block, env.own.secrets, func(s *Secret) hcl.Range { return s.DeclRange }) {
				env.own.secrets[b.Labels[0]] = d.decodeSecret(block)
			}
		default:
			d.errorf(b.TypeRange, "Unsupported block type",
				"Blocks of type %q are not expected in an environment; it holds values, host, group and secret blocks only.", b.Type)
		}
	}
	return env
}

// oneLabel reports whether block has exactly one label, its name, as
// blocks inside an environment do; otherwise it adds a diagnostic showing
// example.
func (d *decoder) oneLabel(block *hcl.Block, example string) bool {
	if len(block.Labels) == 1 {
		return true
	}
	d.errorf(block.DefRange, fmt.Sprintf("Invalid %s block", block.Type),
		"A %s block has exactly one label, its name: %s.", block.Type, example)
	return false
}

// evalValue evaluates an environment or host value.
func (d *decoder) evalValue(attr *hclsyntax.Attribute) cty.Value {
	val, diags := attr.Expr.Value(d.valueCtx)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return cty.DynamicVal
	}
	return val
}

// syntaxAttributes returns the attributes of body in source order.
func syntaxAttributes(body *hclsyntax.Body) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}

// resolveEnvironments links every environment to the one it extends and
// stores it in cfg.Environments. Nothing is copied: an environment reads
// through its chain (Environment.Value), so resolving n environments costs
// O(n) time and memory however long their chains. It walks each chain
// without recursion; a cycle is reported once, and its members extend
// nothing, so that every chain ends.
func (d *decoder) resolveEnvironments(cfg *Config) {
	const (
		visiting = 1
		done     = 2
	)
	state := make(map[string]int, len(d.envs))
	inCycle := map[string]bool{}
	var path []string
	for _, start := range d.envOrder {
		path = path[:0]
		for name := start; ; {
			if state[name] == done {
				break
			}
			if state[name] == visiting {
				members := path[indexOf(path, name):]
				d.reportCycle(members)
				for _, m := range members {
					inCycle[m] = true
				}
				break
			}
			state[name] = visiting
			path = append(path, name)
			env := d.envs[name]
			if env.Extends == "" {
				break
			}
			if _, ok := d.envs[env.Extends]; !ok {
				others := slices.DeleteFunc(slices.Clone(d.envOrder), func(n string) bool { return n == name })
				d.errorf(env.extendsRange, "Unknown parent environment", "Environment %q extends %q, which is not declared. %s",
					name, env.Extends, Suggest(env.Extends, others, "other environments"))
				break
			}
			name = env.Extends
		}
		for _, name := range path {
			state[name] = done
			env := d.envs[name]
			if parent, ok := d.envs[env.Extends]; ok && !inCycle[name] {
				env.Parent = parent.Environment
			}
			env.projectSecrets = cfg.Secrets
			cfg.Environments[name] = env.Environment
		}
	}
	d.checkAllHosts()
}

// checkAllHosts checks the hosts and groups of every environment, each
// through its chain, reporting a problem an inherited host has in several
// environments once. An environment that declares no host or group has
// its parent's, whose problems are its parent's: it is not checked again,
// so that a long chain costs linear time.
func (d *decoder) checkAllHosts() {
	seen := map[string]bool{}
	for _, name := range d.envOrder {
		env := d.envs[name].Environment
		if len(env.own.hosts) == 0 && len(env.own.groups) == 0 {
			continue
		}
		d.checkHosts(env, func(diag *hcl.Diagnostic) {
			k := diag.Summary + "\x00" + diag.Subject.String()
			if !seen[k] {
				seen[k] = true
				d.diags = append(d.diags, diag)
			}
		})
	}
}

// reportCycle reports an inheritance cycle once, naming every member, at
// the extends argument of its first member in name order.
func (d *decoder) reportCycle(members []string) {
	first := 0
	for i, m := range members {
		if m < members[first] {
			first = i
		}
	}
	ordered := append(append([]string(nil), members[first:]...), members[:first]...)
	chain := strings.Join(append(ordered, ordered[0]), " → ")
	d.errorf(d.envs[ordered[0]].extendsRange, "Environment inheritance cycle",
		"These environments extend each other in a cycle: %s. Remove one of their extends arguments.", chain)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 0
}

// envDecls is what one environment block declares itself.
type envDecls struct {
	// protected is the block's `protected` argument, nil when unset,
	// written at protectedRange.
	protected      *bool
	protectedRange hcl.Range
	values         map[string]cty.Value
	ranges         map[string]hcl.Range
	hosts          map[string]*Host
	groups         map[string]*Group
	secrets        map[string]*Secret
}

// chain returns e and the environments it extends, nearest first.
func (e *Environment) chain() []*Environment {
	var out []*Environment
	for c := e; c != nil; c = c.Parent {
		out = append(out, c)
	}
	return out
}

// Protected reports whether runs in the environment must be confirmed
// (`protected = true`): its own setting, or else that of the nearest
// environment of the chain it extends that sets it.
func (e *Environment) Protected() bool {
	p, _ := e.protection()
	return p
}

// ProtectedRange returns where the setting Protected reports is written,
// and whether any environment of the chain sets it.
func (e *Environment) ProtectedRange() (hcl.Range, bool) {
	_, r := e.protection()
	return r, r != hcl.Range{}
}

// protection returns the nearest `protected` setting of the chain and
// where it is written (a zero range for none).
func (e *Environment) protection() (bool, hcl.Range) {
	for c := e; c != nil; c = c.Parent {
		if p := c.own.protected; p != nil {
			return *p, c.own.protectedRange
		}
	}
	return false, hcl.Range{}
}

// Value returns the value name: the environment's own deep-merged over
// those of the chain it extends (objects merge key by key, anything else
// replaces), and whether any of them sets it.
func (e *Environment) Value(name string) (cty.Value, bool) {
	var layers []cty.Value // nearest first, up to the first that replaces all above it
	for c := e; c != nil; c = c.Parent {
		if v, ok := c.own.values[name]; ok {
			layers = append(layers, v)
			if !mergeable(v) {
				break
			}
		}
	}
	if len(layers) == 0 {
		return cty.NilVal, false
	}
	slices.Reverse(layers)
	return mergeAll(layers), true
}

// Values returns every value of the environment, as Value gives them. It
// builds a new map on each call: use Value to read one.
func (e *Environment) Values() map[string]cty.Value {
	layers := map[string][]cty.Value{}
	chain := e.chain()
	for i := len(chain) - 1; i >= 0; i-- {
		for name, v := range chain[i].own.values {
			layers[name] = append(layers[name], v)
		}
	}
	out := make(map[string]cty.Value, len(layers))
	for name, ls := range layers {
		out[name] = mergeAll(ls)
	}
	return out
}

// ValueRange returns where value name was set: in the nearest environment
// of the chain that sets it.
func (e *Environment) ValueRange(name string) (hcl.Range, bool) {
	for c := e; c != nil; c = c.Parent {
		if r, ok := c.own.ranges[name]; ok {
			return r, true
		}
	}
	return hcl.Range{}, false
}

// Host returns the host name: the environment's own, or the nearest one of
// the chain it extends.
func (e *Environment) Host(name string) (*Host, bool) {
	for c := e; c != nil; c = c.Parent {
		if h, ok := c.own.hosts[name]; ok {
			return h, true
		}
	}
	return nil, false
}

// Hosts returns every host of the environment, as Host gives them, in a
// new map.
func (e *Environment) Hosts() map[string]*Host {
	out := map[string]*Host{}
	for _, c := range e.chain() {
		inherit(out, c.own.hosts)
	}
	return out
}

// Secret returns the secret name: the environment's own, or the nearest
// one of the chain it extends, or else the project-wide one.
func (e *Environment) Secret(name string) (*Secret, bool) {
	for c := e; c != nil; c = c.Parent {
		if s, ok := c.own.secrets[name]; ok {
			return s, true
		}
	}
	s, ok := e.projectSecrets[name]
	return s, ok
}

// Secrets returns every secret of the environment, as Secret gives them,
// in a new map.
func (e *Environment) Secrets() map[string]*Secret {
	out := map[string]*Secret{}
	for _, c := range e.chain() {
		inherit(out, c.own.secrets)
	}
	inherit(out, e.projectSecrets)
	return out
}

// inherit copies into child the entries of parent it does not have.
func inherit[V any](child, parent map[string]V) {
	for name, v := range parent {
		if _, ok := child[name]; !ok {
			child[name] = v
		}
	}
}

// DeepMerge returns over merged onto base: where both are objects (or
// maps) they merge attribute by attribute, recursively; otherwise over
// replaces base. Lists, sets and tuples are replaced whole.
func DeepMerge(base, over cty.Value) cty.Value {
	return mergeAll([]cty.Value{base, over})
}

// mergeAll is DeepMerge folded over layers, base first, in one pass: each
// attribute is merged once across all the layers that set it, so merging
// a chain costs what its layers hold, not that times its length.
func mergeAll(layers []cty.Value) cty.Value {
	// A layer that cannot merge replaces all below it, and is replaced by
	// any above it.
	top := -1
	for i := len(layers) - 1; i >= 0 && top < 0; i-- {
		if !mergeable(layers[i]) {
			top = i
		}
	}
	if top == len(layers)-1 {
		return layers[top]
	}
	if layers = layers[top+1:]; len(layers) == 1 {
		return layers[0]
	}
	byKey := map[string][]cty.Value{}
	for _, l := range layers {
		for k, v := range l.AsValueMap() {
			byKey[k] = append(byKey[k], v)
		}
	}
	out := make(map[string]cty.Value, len(byKey))
	for k, vs := range byKey {
		out[k] = mergeAll(vs)
	}
	return cty.ObjectVal(out)
}

// mergeable reports whether v is a known, non-null, unmarked object or map.
func mergeable(v cty.Value) bool {
	ty := v.Type()
	return (ty.IsObjectType() || ty.IsMapType()) && v.IsKnown() && !v.IsNull() && !v.IsMarked()
}
