package dsl

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// Defaults is a `defaults "PLUGIN"` block: arguments that every step
// running one of the plugin's actions gets unless it sets them itself.
// At the top level of a file it holds for every workflow of the project;
// inside a workflow for that workflow's steps, over the project's.
//
//	defaults "postgres" {
//	  target   = env.db.target
//	  host     = env.db.host
//	  password = secret.db_password
//	}
//
// An argument is given only to the actions that take it (postgres.dump
// takes format, postgres.query does not), and is evaluated in the step's
// own scope: it may refer to params, env, secrets, steps and run (each,
// which only a for_each step has, makes a default fail elsewhere).
// `target` is the one meta-argument a defaults block may hold.
type Defaults struct {
	Plugin string
	// Attributes are the block's arguments, target excluded.
	Attributes hcl.Attributes
	// Target is the default `target`, nil if the block has none.
	Target    hcl.Expression
	DeclRange hcl.Range
	NameRange hcl.Range
}

// decodeDefaults decodes a `defaults "PLUGIN"` block.
func (d *decoder) decodeDefaults(block *hcl.Block) *Defaults {
	def := &Defaults{Plugin: block.Labels[0], Attributes: hcl.Attributes{}, DeclRange: block.DefRange, NameRange: block.LabelRanges[0]}
	attrs, diags := block.Body.JustAttributes()
	d.diags = append(d.diags, diags...)
	for name, attr := range attrs {
		switch {
		case name == "target":
			def.Target = attr.Expr
		case slices.Contains(MetaArguments(), name):
			d.errorf(attr.NameRange, "Meta-argument in defaults",
				"A defaults block holds the plugin's action arguments, and target; %s belongs on each step that needs it.", name)
		default:
			def.Attributes[name] = attr
		}
	}
	return def
}

// addDefaults adds def to into, the project's or a workflow's defaults.
func (d *decoder) addDefaults(into map[string]*Defaults, block *hcl.Block) {
	if claim(d, "defaults", block, into, func(x *Defaults) hcl.Range { return x.NameRange }) {
		into[block.Labels[0]] = d.decodeDefaults(block)
	}
}

// applyDefaults gives every action step of every workflow the defaults
// of its plugin: the workflow's, then the project's.
func applyDefaults(cfg *Config) {
	for _, wf := range cfg.Workflows {
		for _, steps := range []map[string]*Step{wf.Steps, wf.OnFailure, wf.Finally} {
			for _, s := range steps {
				if s.Action == nil {
					continue
				}
				var layers []*Defaults
				for _, from := range []map[string]*Defaults{wf.Defaults, cfg.Defaults} {
					if def := from[s.Action.Plugin]; def != nil {
						layers = append(layers, def)
					}
				}
				if len(layers) == 0 {
					continue
				}
				for _, def := range layers {
					if s.Target == nil && def.Target != nil {
						s.Target = def.Target
					}
				}
				s.Body = &defaultedBody{own: s.Body, layers: layers}
			}
		}
	}
}

// defaultedBody is a step's body with its plugin's defaults under it: an
// argument of the schema asked for that the step does not set comes from
// the first layer that has it. Arguments of a layer that the schema does
// not ask for are not the step's (another action of the plugin takes
// them), so they are never "unsupported".
type defaultedBody struct {
	own    hcl.Body
	layers []*Defaults
}

// lookup is the default of the argument name, nil if no layer has it.
func (b *defaultedBody) lookup(name string) *hcl.Attribute {
	for _, def := range b.layers {
		if a, ok := def.Attributes[name]; ok {
			return a
		}
	}
	return nil
}

// ownSchema is schema with the arguments a default provides made optional
// for the step's own body.
func (b *defaultedBody) ownSchema(schema *hcl.BodySchema) *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: schema.Blocks, Attributes: slices.Clone(schema.Attributes)}
	for i, a := range s.Attributes {
		if a.Required && b.lookup(a.Name) != nil {
			s.Attributes[i].Required = false
		}
	}
	return s
}

func (b *defaultedBody) fill(c *hcl.BodyContent, schema *hcl.BodySchema) {
	for _, a := range schema.Attributes {
		if _, set := c.Attributes[a.Name]; set {
			continue
		}
		if def := b.lookup(a.Name); def != nil {
			if c.Attributes == nil {
				c.Attributes = hcl.Attributes{}
			}
			c.Attributes[a.Name] = def
		}
	}
}

func (b *defaultedBody) Content(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := b.own.Content(b.ownSchema(schema))
	b.fill(c, schema)
	return c, diags
}

func (b *defaultedBody) PartialContent(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	c, remain, diags := b.own.PartialContent(b.ownSchema(schema))
	b.fill(c, schema)
	return c, &defaultedBody{own: remain, layers: b.layers}, diags
}

// JustAttributes is the step's own attributes: defaults apply to an
// action's declared arguments only, and only a schema says which those are.
func (b *defaultedBody) JustAttributes() (hcl.Attributes, hcl.Diagnostics) {
	return b.own.JustAttributes()
}

func (b *defaultedBody) MissingItemRange() hcl.Range { return b.own.MissingItemRange() }

// OwnBody is the body as the step wrote it, without its plugin's defaults.
func OwnBody(body hcl.Body) hcl.Body {
	if b, ok := body.(*defaultedBody); ok {
		return b.own
	}
	return body
}

// DefaultAttributes are the defaults under a step's body, every layer's,
// for what reads a step's expressions without its action's schema (the
// secrets a run needs): it may get arguments the action does not take.
func DefaultAttributes(body hcl.Body) []*hcl.Attribute {
	b, ok := body.(*defaultedBody)
	if !ok {
		return nil
	}
	var out []*hcl.Attribute
	for _, def := range b.layers {
		for _, name := range sortedKeys(def.Attributes) {
			out = append(out, def.Attributes[name])
		}
	}
	return out
}
