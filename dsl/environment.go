package dsl

import (
	"fmt"
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
			Name:        block.Labels[0],
			Values:      map[string]cty.Value{},
			ValueRanges: map[string]hcl.Range{},
			Hosts:       map[string]*Host{},
			Secrets:     map[string]*Secret{},
			DeclRange:   block.DefRange,
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
		case HostsValue:
			d.errorf(attr.NameRange, "Reserved environment value name",
				"env.hosts holds the environment's host blocks; declare machines with host \"NAME\" { address = \"...\" }.")
		default:
			env.Values[attr.Name] = d.evalValue(attr)
			env.ValueRanges[attr.Name] = attr.SrcRange
		}
	}
	for _, b := range body.Blocks {
		block := b.AsHCLBlock()
		switch b.Type {
		case "host":
			if d.oneLabel(block, `host "web" { ... }`) && claim(d, "host", block, env.Hosts, func(h *Host) hcl.Range { return h.DeclRange }) {
				env.Hosts[b.Labels[0]] = d.decodeHost(b)
			}
		case "secret":
			if d.oneLabel(block, `secret "db_password" { env = "DB_PASSWORD" }`) && claim(d, "secret", block, env.Secrets, func(s *Secret) hcl.Range { return s.DeclRange }) {
				env.Secrets[b.Labels[0]] = d.decodeSecret(block)
			}
		default:
			d.errorf(b.TypeRange, "Unsupported block type",
				"Blocks of type %q are not expected in an environment; it holds values, host blocks and secret blocks only.", b.Type)
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

// decodeHost decodes a `host "NAME"` block whose header is valid.
func (d *decoder) decodeHost(b *hclsyntax.Block) *Host {
	h := &Host{Name: b.Labels[0], Values: map[string]cty.Value{}, DeclRange: b.DefRange()}
	hasAddress := false
	for _, attr := range syntaxAttributes(b.Body) {
		switch attr.Name {
		case "address":
			hasAddress = true
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.Address)...)
		case "user":
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.User)...)
		case "port":
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &h.Port)...)
			if h.Port < 0 || h.Port > 65535 {
				d.errorf(attr.Expr.Range(), "Invalid port", "A port is a number from 1 to 65535; got %d.", h.Port)
			}
		default:
			h.Values[attr.Name] = d.evalValue(attr)
		}
	}
	for _, nb := range b.Body.Blocks {
		d.errorf(nb.TypeRange, "Unsupported block type", "Blocks of type %q are not expected in a host.", nb.Type)
	}
	if !hasAddress {
		d.errorf(b.DefRange(), "Missing required argument", `Host %q needs an address, like address = "10.0.0.5".`, h.Name)
	}
	return h
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

// resolveEnvironments merges every environment over the chain it extends
// and stores the result in cfg.Environments.
func (d *decoder) resolveEnvironments(cfg *Config) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var resolve func(name string, path []string)
	resolve = func(name string, path []string) {
		env := d.envs[name]
		switch state[name] {
		case done:
			return
		case visiting:
			d.reportCycle(path[indexOf(path, name):])
			return
		}
		state[name] = visiting
		if parentName := env.Extends; parentName != "" {
			if _, ok := d.envs[parentName]; !ok {
				d.errorf(env.extendsRange, "Unknown parent environment",
					"Environment %q extends %q, which is not declared. Declared environments: %s.",
					name, parentName, strings.Join(sortedKeys(d.envs), ", "))
			} else {
				resolve(parentName, append(path, name))
				if state[parentName] == done {
					mergeEnvironment(env.Environment, cfg.Environments[parentName])
				}
			}
		}
		// Inside a cycle only part of the chain is merged; the cycle is
		// already reported as an error.
		state[name] = done
		cfg.Environments[name] = env.Environment
	}
	for _, name := range d.envOrder {
		resolve(name, nil)
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

// mergeEnvironment merges parent's resolved values, hosts and secrets
// under child's own: child wins, objects merge key by key.
func mergeEnvironment(child, parent *Environment) {
	for name, pv := range parent.Values {
		if cv, ok := child.Values[name]; ok {
			child.Values[name] = DeepMerge(pv, cv)
			continue
		}
		child.Values[name] = pv
		child.ValueRanges[name] = parent.ValueRanges[name]
	}
	inherit(child.Hosts, parent.Hosts)
	inherit(child.Secrets, parent.Secrets)
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
	if !mergeable(base) || !mergeable(over) {
		return over
	}
	out := base.AsValueMap()
	if out == nil {
		out = map[string]cty.Value{}
	}
	for k, v := range over.AsValueMap() {
		if b, ok := out[k]; ok {
			v = DeepMerge(b, v)
		}
		out[k] = v
	}
	return cty.ObjectVal(out)
}

// mergeable reports whether v is a known, non-null, unmarked object or map.
func mergeable(v cty.Value) bool {
	ty := v.Type()
	return (ty.IsObjectType() || ty.IsMapType()) && v.IsKnown() && !v.IsNull() && !v.IsMarked()
}
