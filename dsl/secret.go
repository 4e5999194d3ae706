package dsl

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// secretKey is the argument naming the key read from a dotenv file or a
// Vault secret.
const secretKey = "key"

var secretSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: SecretEnv},
		{Name: SecretFile},
		{Name: SecretDotenv},
		{Name: SecretCommand},
		{Name: SecretVault},
		{Name: secretKey},
	},
}

// secretSourcesHint ends every diagnostic about a secret's source.
const secretSourcesHint = `A secret has exactly one source: env = "VARIABLE", file = "PATH", dotenv = "PATH" with key = "NAME", command = ["program", "arg"...] or vault = "PATH" with key = "NAME".`

// decodeSecret decodes a `secret "NAME"` block whose header is valid. Its
// arguments are read when the project loads: literal values or functions,
// no references.
func (d *decoder) decodeSecret(block *hcl.Block) *Secret {
	s := &Secret{Name: block.Labels[0], DeclRange: block.DefRange}
	content, diags := block.Body.Content(secretSchema)
	d.diags = append(d.diags, diags...)
	var source, key *hcl.Attribute
	for _, attr := range sortedAttributes(content.Attributes) {
		switch {
		case attr.Name == secretKey:
			key = attr
			d.diags = append(d.diags, decodeStatic(attr.Expr, d.valueCtx, &s.Key)...)
		case source != nil:
			d.errorf(attr.NameRange, "Conflicting secret sources",
				"Secret %q already reads from %s at %s. %s", s.Name, source.Name, source.NameRange, secretSourcesHint)
		default:
			source = attr
			s.Source = attr.Name
			d.decodeSecretSource(s, attr)
		}
	}
	needsKey := s.Source == SecretDotenv || s.Source == SecretVault
	switch {
	case source == nil:
		d.errorf(block.DefRange, "Missing secret source", "Secret %q does not say where its value comes from. %s", s.Name, secretSourcesHint)
	case needsKey && key == nil:
		d.errorf(block.DefRange, "Missing required argument",
			`Secret %q reads a %s secret, which holds many values: add key = "NAME", the one to read.`, s.Name, s.Source)
	case !needsKey && key != nil:
		d.errorf(key.NameRange, "Unsupported argument",
			"key names the value to read from a dotenv file or a Vault secret; a %s secret has a single value. Remove it.", s.Source)
	}
	if needsKey && key != nil && s.Key == "" {
		d.errorf(key.Expr.Range(), "Invalid secret key", "The key of secret %q is empty; give the name of the value to read.", s.Name)
	}
	return s
}

// decodeSecretSource decodes the source argument of a secret.
func (d *decoder) decodeSecretSource(s *Secret, attr *hcl.Attribute) {
	if attr.Name == SecretCommand {
		s.Command = d.decodeCommand(attr)
		return
	}
	diags := decodeStatic(attr.Expr, d.valueCtx, &s.Value)
	d.diags = append(d.diags, diags...)
	switch {
	case diags.HasErrors():
	case s.Value == "":
		d.errorf(attr.Expr.Range(), "Invalid secret source", "The %s of secret %q is empty. %s", attr.Name, s.Name, secretSourcesHint)
	case attr.Name == SecretEnv && strings.ContainsAny(s.Value, "=\x00"):
		d.errorf(attr.Expr.Range(), "Invalid secret source",
			"%q is not an environment variable name: it holds \"=\" or a NUL byte. Give the variable's name, like env = \"ZAKUPAI_DB_PASSWORD\".", s.Value)
	}
}

// decodeCommand decodes `command = ["program", "arg"...]`: a non-empty
// list of strings, run later without a shell.
func (d *decoder) decodeCommand(attr *hcl.Attribute) []string {
	var val cty.Value
	diags := decodeStatic(attr.Expr, d.valueCtx, &val)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return nil
	}
	var argv []string
	list, err := convert.Convert(val, cty.List(cty.String))
	if err == nil && list.IsWhollyKnown() && !list.IsNull() {
		err = gocty.FromCtyValue(list, &argv)
	}
	if err != nil || !val.Type().IsTupleType() && !val.Type().IsListType() || len(argv) == 0 || argv[0] == "" {
		d.errorf(attr.Expr.Range(), "Invalid secret command", "%s",
			`command is a list of strings, the program first, run without a shell: command = ["pass", "show", "zakupai/openai"]. For a pipeline, run a shell yourself: command = ["sh", "-c", "..."].`)
		return nil
	}
	return argv
}

// String describes where the secret's value comes from, in words for
// diagnostics: `environment variable DB_PASSWORD`, `key K of dotenv file
// .env.prod`. It never holds a value.
func (s *Secret) String() string {
	switch s.Source {
	case SecretEnv:
		return "environment variable " + s.Value
	case SecretFile:
		return "file " + s.Value
	case SecretDotenv:
		return fmt.Sprintf("key %s of dotenv file %s", s.Key, s.Value)
	case SecretCommand:
		return fmt.Sprintf("the output of command %q", s.Command)
	case SecretVault:
		return fmt.Sprintf("key %s of Vault secret %s", s.Key, s.Value)
	}
	return "no source"
}
