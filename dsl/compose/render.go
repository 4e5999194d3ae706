package compose

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// render lays the import out and writes its HCL files.
func (im *importer) render() *Result {
	lo := im.plan()
	secrets := im.nameSecrets(lo)
	res := &Result{Files: map[string][]byte{}, Secrets: map[string][]SecretUse{}, Workflow: im.opts.Workflow}
	res.Files[filepath.Join("workflows", im.opts.Workflow+".hcl")] = im.workflowFile(lo)
	for _, i := range im.order {
		var parent map[string]*envSecret
		if p := im.parent[i]; p >= 0 {
			parent = im.effectiveSecrets(secrets, p)
		}
		res.Files[filepath.Join("environments", im.opts.Envs[i].Name+".hcl")] = im.environmentFile(lo, i, secrets[i], parent)
		for _, name := range sortedKeys(secrets[i]) {
			es := secrets[i][name]
			res.Secrets[im.opts.Envs[i].Name] = append(res.Secrets[im.opts.Envs[i].Name],
				SecretUse{Name: name, Vars: es.users, Source: es.src, Problem: es.problem, Inactive: es.unused})
		}
	}
	return res
}

// effectiveSecrets are the secrets environment i reads, its own or
// inherited.
func (im *importer) effectiveSecrets(secrets []map[string]*envSecret, i int) map[string]*envSecret {
	out := map[string]*envSecret{}
	for j := i; j >= 0; j = im.parent[j] {
		for name, es := range secrets[j] {
			if _, ok := out[name]; !ok {
				out[name] = es
			}
		}
	}
	return out
}

// workflowFile writes the workflow: a step per network, volume and
// service.
func (im *importer) workflowFile(lo *layout) []byte {
	var b strings.Builder
	b.WriteString(comment("Written by `zrun import compose` from "+strings.Join(im.sources(), ", ")+
		". One docker.container step per compose service, with the arguments that are the same in every environment;"+
		" what differs is read from the environment (env.containers and env.env_files, in environments/*.hcl),"+
		" and the values that look like secrets from secret blocks. It is yours to edit from now on.", ""))
	fmt.Fprintf(&b, "workflow %q {\n", im.opts.Workflow)
	fmt.Fprintf(&b, "  description = %s\n", value(cty.StringVal("The containers of compose project "+im.envs[0].project.Name)))
	for _, r := range append(append([]*resource{}, im.networks...), im.volumes...) {
		action, args := NetworkAction, NetworkArgs
		if r.kind == "volume" {
			action, args = VolumeAction, VolumeArgs
		}
		fmt.Fprintf(&b, "\n  step %q {\n    action = %s\n", r.step, action)
		for _, a := range args {
			if v, ok := r.args[a.Name]; ok {
				fmt.Fprintf(&b, "    %s = %s\n", a.Name, value(v))
			}
		}
		b.WriteString("  }\n")
	}
	for _, st := range topo(lo.steps) {
		im.writeStep(&b, st)
	}
	b.WriteString("}\n")
	return im.format("workflow "+im.opts.Workflow, b.String())
}

// writeStep writes one service's step.
func (im *importer) writeStep(b *strings.Builder, st *stepLayout) {
	ref := func(parts ...string) string {
		return traversal(append([]string{"env", "containers", st.svc.step}, parts...)...)
	}
	fmt.Fprintf(b, "\n  step %q {\n    action = %s\n", st.svc.step, ContainerAction)
	if st.when {
		fmt.Fprintf(b, "    when   = %s\n", ref("enabled"))
	}
	if len(st.depends) > 0 {
		var deps []string
		for _, d := range st.depends {
			deps = append(deps, traversal("step", d))
		}
		fmt.Fprintf(b, "    depends_on = [%s]\n", strings.Join(deps, ", "))
	}
	b.WriteString("\n")
	for _, a := range ContainerArgs {
		var expr string
		switch {
		case a.Name == "env":
			expr = im.envExpr(st, ref)
		case st.maps[a.Name] != nil:
			expr = mapExpr(st.maps[a.Name], ref(a.Name))
		case slices.Contains(st.varying, a.Name):
			expr = ref(a.Name)
		default:
			if v, ok := st.literal[a.Name]; ok {
				expr = value(v)
			}
		}
		if expr != "" {
			fmt.Fprintf(b, "    %s = %s\n", a.Name, expr)
		}
	}
	b.WriteString("  }\n")
}

// envExpr is the env argument: the shared env files, the entries alike
// everywhere, the environment's own, then the secrets (never null: they
// go after the filter).
func (im *importer) envExpr(st *stepLayout, ref func(...string) string) string {
	var layers []string
	for _, f := range st.envFiles {
		layers = append(layers, "env.env_files["+value(cty.StringVal(f))+"]")
	}
	parts := mapParts(st.maps["env"], layers, ref("env"))
	if len(st.secrets) > 0 {
		var secrets []string
		for _, s := range st.secrets {
			secrets = append(secrets, fmt.Sprintf("%s = %s", key(s.key), traversal("secret", s.name)))
		}
		parts = append(parts, "{\n"+strings.Join(secrets, "\n")+"\n}")
	}
	return mergeOf(parts)
}

// mapExpr is a map argument.
func mapExpr(m *mapLayout, own string) string { return mergeOf(mapParts(m, nil, own)) }

// mapParts are what a map argument merges: layers (env files) first, the
// entries alike everywhere, then the environment's own; null entries are
// left out when some environment drops one.
func mapParts(m *mapLayout, layers []string, own string) []string {
	parts := append([]string{}, layers...)
	if len(m.common) > 0 {
		parts = append(parts, value(cty.ObjectVal(m.common)))
	}
	if m.varying {
		parts = append(parts, own)
	}
	if m.filter && len(parts) > 0 {
		parts = []string{"{ for k, v in " + mergeOf(parts) + " : k => v if v != null }"}
	}
	return parts
}

// mergeOf is merge(parts...) over lines, the one part, or "" for none.
func mergeOf(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return "merge(\n" + strings.Join(parts, ",\n") + ",\n)"
}

// environmentFile writes environment i's block: what differs from its
// parent's values, and its secrets that differ from its parent's.
func (im *importer) environmentFile(lo *layout, i int, secrets, parent map[string]*envSecret) []byte {
	env := im.opts.Envs[i]
	ep := im.envs[i]
	var b strings.Builder
	head := fmt.Sprintf("Written by `zrun import compose`: the containers of %s as compose runs them from %s", env.Name, strings.Join(im.rel(ep.files), " + "))
	if len(ep.project.Profiles) > 0 && ep.project.Profiles[0] != "" {
		head += " with profile " + strings.Join(ep.project.Profiles, ", ")
	}
	if ep.dotenv != "" {
		head += ", " + im.dotenvPath(ep.dotenv) + " as .env"
	}
	if env.Extends != "" {
		head += "; what differs from " + env.Extends
	}
	b.WriteString(comment(head+".", ""))
	fmt.Fprintf(&b, "environment %q {\n", env.Name)
	if env.Extends != "" {
		fmt.Fprintf(&b, "  extends = %q\n", env.Extends)
	}
	for _, a := range []struct {
		name string
		v    cty.Value
	}{{"containers", lo.containers[i]}, {"env_files", lo.envFiles[i]}} {
		if a.v.LengthInt() > 0 {
			fmt.Fprintf(&b, "\n  %s = %s\n", a.name, value(a.v))
		}
	}
	for _, name := range sortedKeys(secrets) {
		es := secrets[name]
		if p, ok := parent[name]; ok && p.src == es.src {
			continue
		}
		b.WriteString("\n" + comment(usersOf(es.users), "  "))
		fmt.Fprintf(&b, "  secret %q {\n", name)
		if es.src.Env != "" {
			fmt.Fprintf(&b, "    env = %q\n", es.src.Env)
		} else {
			fmt.Fprintf(&b, "    dotenv = %s\n    key    = %q\n", value(cty.StringVal(im.dotenvPath(es.src.Dotenv))), es.src.Key)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return im.format("environment "+env.Name, b.String())
}

// sources are the compose files of the import, relative to the first's
// folder.
func (im *importer) sources() []string {
	seen := map[string]bool{}
	var out []string
	for _, ep := range im.envs {
		for _, f := range im.rel(ep.files) {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// rel makes compose file paths relative to the project folder.
func (im *importer) rel(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, filepath.ToSlash(relTo(im.envs[0].project.WorkingDir, f)))
	}
	return out
}

// value writes a value as HCL.
func value(v cty.Value) string { return string(hclwrite.TokensForValue(v).Bytes()) }

// traversal writes root.a.b.
func traversal(parts ...string) string { return strings.Join(parts, ".") }

// key writes an object key: bare when it is an identifier.
func key(k string) string {
	if hclsyntax.ValidIdentifier(k) {
		return k
	}
	return value(cty.StringVal(k))
}

// format formats HCL written here. HCL that does not parse would be a
// bug of the import: it is reported as such.
func (im *importer) format(name, src string) []byte {
	if _, diags := hclsyntax.ParseConfig([]byte(src), name, hcl.InitialPos); diags.HasErrors() {
		im.bugs = append(im.bugs, errorf("Import failed", "The HCL the import wrote for %s does not parse, a bug of zrun: %s", name, diags.Error()))
	}
	return hclwrite.Format([]byte(src))
}

// topo orders steps so that each comes after those it depends on, by
// name otherwise.
func topo(steps []*stepLayout) []*stepLayout {
	byStep := map[string]*stepLayout{}
	for _, st := range steps {
		byStep[st.svc.step] = st
	}
	var out []*stepLayout
	done := map[string]int{}
	var visit func(st *stepLayout)
	visit = func(st *stepLayout) {
		if done[st.svc.step] != 0 {
			return
		}
		done[st.svc.step] = 1
		for _, d := range st.depends {
			if dep, ok := byStep[d]; ok {
				visit(dep)
			}
		}
		done[st.svc.step] = 2
		out = append(out, st)
	}
	for _, st := range steps {
		visit(st)
	}
	return out
}

// usersOf says which services take a secret as which variable:
// "DB_PASSWORD of calc-service, gateway; PGPASSWORD of db-backup".
func usersOf(users []string) string {
	byVar := map[string][]string{}
	var vars []string
	for _, u := range users {
		step, v, _ := strings.Cut(u, ".")
		if _, ok := byVar[v]; !ok {
			vars = append(vars, v)
		}
		byVar[v] = append(byVar[v], step)
	}
	var parts []string
	for _, v := range vars {
		parts = append(parts, v+" of "+strings.Join(byVar[v], ", "))
	}
	return strings.Join(parts, "; ")
}

// comment writes text as # lines of at most 78 columns, indented.
func comment(text, indent string) string {
	var b strings.Builder
	line := indent + "#"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 78 && line != indent+"#" {
			b.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
	return b.String()
}
