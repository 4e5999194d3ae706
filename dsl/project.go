package dsl

import (
	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var projectSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "project"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "required_plugins"}, {Type: "ledger"}},
}

var ledgerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "postgres"}},
}

// Ledger is the `ledger` block of the zrun block: where runs are recorded.
type Ledger struct {
	// Postgres is the connection string of a PostgreSQL ledger; "" for the
	// embedded one under .zrun/. Usually env("...") so that its password
	// is not in the file.
	Postgres  string
	DeclRange hcl.Range
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
	seen := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		if first, dup := seen[b.Type]; dup {
			d.errorf(b.DefRange, "Duplicate "+b.Type+" block",
				"A zrun block has one %s block; the first is at %s.", b.Type, first)
			continue
		}
		seen[b.Type] = b.DefRange
		switch b.Type {
		case "required_plugins":
			d.decodeRequiredPlugins(cfg.Project, b.Body)
		case "ledger":
			d.decodeLedger(cfg.Project, b)
		}
	}
}

// decodeLedger reads `ledger { postgres = "DSN" }`; the DSN may call
// functions (env) but not refer to anything.
func (d *decoder) decodeLedger(p *Project, b *hcl.Block) {
	p.Ledger = &Ledger{DeclRange: b.DefRange}
	content, diags := b.Body.Content(ledgerSchema)
	d.diags = append(d.diags, diags...)
	if attr, ok := content.Attributes["postgres"]; ok {
		diags := decodeStatic(attr.Expr, d.valueCtx, &p.Ledger.Postgres)
		d.diags = append(d.diags, diags...)
		if p.Ledger.Postgres == "" && !diags.HasErrors() {
			d.errorf(attr.Expr.Range(), "Empty ledger connection string",
				"postgres is empty; set it (often env(\"ZRUN_LEDGER_DSN\")), or remove the ledger block to use the embedded ledger.")
		}
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
