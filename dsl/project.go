package dsl

import (
	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var projectSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "project"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "required_plugins"}},
}

// decodeProject decodes the `zrun` block into cfg.Project.
func (d *decoder) decodeProject(cfg *Config, block *hcl.Block) {
	if cfg.Project.DeclRange != (hcl.Range{}) {
		d.errorf(block.DefRange, "Duplicate zrun block",
			"A project has one zrun block; the first is at %s.", cfg.Project.DeclRange)
		return
	}
	cfg.Project.DeclRange = block.DefRange
	content, diags := block.Body.Content(projectSchema)
	d.diags = append(d.diags, diags...)
	if attr, ok := content.Attributes["project"]; ok {
		d.diags = append(d.diags, decodeStatic(attr.Expr, nil, &cfg.Project.Name)...)
	}
	for i, rp := range content.Blocks {
		if i > 0 {
			d.errorf(rp.DefRange, "Duplicate required_plugins block",
				"List every plugin in the first required_plugins block, at %s.", content.Blocks[0].DefRange)
			continue
		}
		d.decodeRequiredPlugins(cfg.Project, rp.Body)
	}
}

// decodeRequiredPlugins reads `NAME = { version = "CONSTRAINT" }` entries.
func (d *decoder) decodeRequiredPlugins(p *Project, body hcl.Body) {
	attrs, diags := body.JustAttributes()
	d.diags = append(d.diags, diags...)
	for _, attr := range sortedAttributes(attrs) {
		rp := &RequiredPlugin{Name: attr.Name, DeclRange: attr.Range}
		p.RequiredPlugins[attr.Name] = rp
		val, diags := attr.Expr.Value(nil)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		var m map[string]cty.Value
		if ty := val.Type(); val.IsWhollyKnown() && !val.IsNull() && (ty.IsObjectType() || ty.IsMapType()) {
			m = val.AsValueMap()
		}
		v, ok := m["version"]
		if len(m) != 1 || !ok || v.IsNull() || v.Type() != cty.String {
			d.errorf(attr.Expr.Range(), "Invalid required_plugins entry",
				`Write each required plugin as NAME = { version = "CONSTRAINT" }, like greet = { version = ">= 0.1.0, < 2.0.0" }.`)
			continue
		}
		rp.Version = v.AsString()
		if _, err := version.NewConstraint(rp.Version); err != nil {
			d.errorf(attr.Expr.Range(), "Invalid version constraint",
				"The version constraint %q of plugin %q cannot be parsed: %s.", rp.Version, attr.Name, err)
		}
	}
}
