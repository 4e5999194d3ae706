package compose

import (
	"io"
	"maps"
	"os"
	"slices"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
)

// The import writes each argument that is the same in every environment
// into the step, and reads the others from the environment:
// env.containers.STEP.ARG, whose values are written in each environment
// block as what differs from the environment it extends (deep-merged, as
// zrun reads them). A map argument (env, labels, networks) is split: the
// entries alike everywhere in the step, the others from the environment,
// merged. An entry an environment must drop, which deep merging cannot
// do, is written null there and the step leaves null entries out. A
// service's env_file contents are shared by the services that read the
// same file: env.env_files["PATH"].

// mapArgs are the map arguments, split into entries.
var mapArgs = []string{"env", "labels", "networks"}

// stepLayout is how one service's step is written.
type stepLayout struct {
	svc      *service
	when     bool                 // enabled differs: when = env.containers.STEP.enabled
	literal  map[string]cty.Value // the arguments alike everywhere
	varying  []string             // the arguments read from the environment
	maps     map[string]*mapLayout
	secrets  []secretRef // env entries read from secrets
	envFiles []string    // env.env_files keys, merged first into env
	depends  []string    // step names
}

// mapLayout is how one map argument is written.
type mapLayout struct {
	common  map[string]cty.Value // entries alike everywhere, in the step
	varying bool                 // entries read from env.containers.STEP.ARG
	filter  bool                 // some environment drops an entry: null
}

// secretRef is an env entry read from secret.name.
type secretRef struct{ key, name string }

// envFile is an env_file of a service in one environment: its key (the
// path as declared, relative to the project folder) and the entries it
// gives, as compose reads them.
type envFile struct {
	key  string
	vals map[string]string
}

// layout works out every step and what each environment block holds.
type layout struct {
	steps []*stepLayout
	// containers and envFiles are each environment's own values of
	// env.containers and env.env_files (what differs from its parent);
	// eff are the values it reads, after inheritance.
	containers, envFiles       []cty.Value
	effContainers, effEnvFiles []cty.Value
	// shared are the env files' entries, by environment and key.
	shared []map[string]map[string]string
}

// envFiles returns the env files a service reads in its environment and
// whether they, merged under its `environment:`, give the environment
// compose resolved; if not, the import does not share them.
func (p *perEnv) envFiles() ([]envFile, bool) {
	files := p.ep.envFiles[p.cfg.Name]
	acc := map[string]string{}
	declared := p.ep.declared[p.cfg.Name]
	for k, v := range declared {
		if v != nil {
			acc[k] = *v
		}
	}
	var out []envFile
	merged := map[string]string{}
	for i, f := range files {
		path := p.cfg.EnvFiles[i].Path
		vals := map[string]string{}
		if _, err := os.Stat(path); err == nil {
			fh, err := os.Open(path)
			if err != nil {
				return nil, false
			}
			quiet := logTo(io.Discard) // compose warned when it read them
			err = dotenv.ParseWithFormat(fh, path, vals, func(k string) (string, bool) {
				if v, ok := acc[k]; ok {
					return v, true
				}
				if v, ok := p.ep.project.Environment[k]; ok {
					return v, true
				}
				return "", false
			}, f.Format)
			quiet()
			fh.Close()
			if err != nil {
				return nil, false
			}
		}
		for k, v := range vals {
			acc[k], merged[k] = v, v
		}
		out = append(out, envFile{key: relTo(p.ep.project.WorkingDir, f.Path), vals: vals})
	}
	for k, v := range declared {
		if v != nil {
			merged[k] = *v
		}
	}
	same := len(merged) == len(p.c.env)
	for k, v := range p.c.env {
		same = same && merged[k] == v
	}
	return out, same
}

// plan lays every service out across the environments.
func (im *importer) plan() *layout {
	shared, unshared := im.sharedEnvFiles()
	lo := &layout{shared: shared}
	for _, s := range im.services {
		lo.steps = append(lo.steps, im.planStep(s, shared, unshared))
	}
	n := len(im.envs)
	lo.containers, lo.envFiles = make([]cty.Value, n), make([]cty.Value, n)
	lo.effContainers, lo.effEnvFiles = make([]cty.Value, n), make([]cty.Value, n)
	for _, i := range im.order {
		parentC, parentF := cty.NilVal, cty.NilVal
		if p := im.parent[i]; p >= 0 {
			parentC, parentF = lo.effContainers[p], lo.effEnvFiles[p]
		}
		lo.containers[i] = delta(parentC, im.desiredContainers(lo, i, parentC))
		lo.envFiles[i] = delta(parentF, im.desiredEnvFiles(lo, i, shared))
		lo.effContainers[i], lo.effEnvFiles[i] = inherit(parentC, lo.containers[i]), inherit(parentF, lo.envFiles[i])
	}
	for _, st := range lo.steps {
		for _, name := range mapArgs {
			m := st.maps[name]
			for i := range im.envs {
				if m.varying && hasNull(attr(attr(lo.effContainers[i], st.svc.step), name)) {
					m.filter = true
				}
				if name == "env" {
					for _, f := range st.envFiles {
						m.filter = m.filter || hasNull(attr(lo.effEnvFiles[i], f))
					}
				}
			}
		}
	}
	return lo
}

// sharedEnvFiles returns the env files whose entries are the same for
// every service that reads them in each environment (by environment and
// key), and the keys of those that are not.
func (im *importer) sharedEnvFiles() ([]map[string]map[string]string, map[string]bool) {
	shared := make([]map[string]map[string]string, len(im.envs))
	unshared := map[string]bool{}
	for i := range im.envs {
		shared[i] = map[string]map[string]string{}
	}
	for _, s := range im.services {
		for i, p := range s.per {
			if p == nil {
				continue
			}
			files, ok := p.envFiles()
			for _, f := range files {
				if !ok {
					unshared[f.key] = true
					continue
				}
				vals := nonSecret(f.vals)
				if prev, seen := shared[i][f.key]; seen && !maps.Equal(prev, vals) {
					unshared[f.key] = true
				}
				shared[i][f.key] = vals
			}
		}
	}
	return shared, unshared
}

// planStep decides what of a service is written in its step and what in
// the environments.
func (im *importer) planStep(s *service, shared []map[string]map[string]string, unshared map[string]bool) *stepLayout {
	st := &stepLayout{svc: s, literal: map[string]cty.Value{}, maps: map[string]*mapLayout{}}
	var defined []int
	for i, p := range s.per {
		if p != nil {
			defined = append(defined, i)
		}
	}
	for i := range im.envs {
		if im.active(s, i) != im.active(s, defined[0]) {
			st.when = true
		}
	}
	for _, a := range ContainerArgs {
		if slices.Contains(mapArgs, a.Name) {
			continue
		}
		first := s.per[defined[0]].c.args[a.Name]
		alike := true
		for _, i := range defined {
			alike = alike && sameValue(first, s.per[i].c.args[a.Name])
		}
		switch {
		case !alike:
			st.varying = append(st.varying, a.Name)
		case first != cty.NilVal:
			st.literal[a.Name] = first
		}
	}
	st.envFiles = im.layeredFiles(s, defined, unshared)
	for _, name := range mapArgs {
		common, varying := splitMap(defined, func(i int) map[string]cty.Value { return im.residual(s, st, i, name, shared) })
		st.maps[name] = &mapLayout{common: common, varying: varying}
	}
	keys := map[string]bool{}
	for _, i := range defined {
		for k := range s.per[i].secrets {
			keys[k] = true
		}
	}
	for _, k := range sortedKeys(keys) {
		st.secrets = append(st.secrets, secretRef{key: k})
	}
	deps := map[string]bool{}
	for _, i := range defined {
		for _, d := range s.per[i].c.dependsOn {
			deps[d] = true
		}
	}
	for _, r := range append(slices.Clone(im.networks), im.volumes...) {
		for _, i := range defined {
			uses := s.per[i].c.networks
			if r.kind == "volume" {
				uses = s.per[i].c.volumes
			}
			if slices.Contains(uses, r.key) {
				deps[r.step] = true
			}
		}
	}
	st.depends = sortedKeys(deps)
	return st
}

// layeredFiles returns the env files a service's env is merged over:
// those it reads, the same ones in every environment, when each is
// shared.
func (im *importer) layeredFiles(s *service, defined []int, unshared map[string]bool) []string {
	var keys []string
	for n, i := range defined {
		files, ok := s.per[i].envFiles()
		if !ok {
			return nil
		}
		var ks []string
		for _, f := range files {
			if unshared[f.key] {
				return nil
			}
			ks = append(ks, f.key)
		}
		if n > 0 && !slices.Equal(ks, keys) {
			return nil
		}
		keys = ks
	}
	return keys
}

// residual returns the entries of map argument name of service s in
// environment i that its env files do not already give (without secrets).
func (im *importer) residual(s *service, st *stepLayout, i int, name string, shared []map[string]map[string]string) map[string]cty.Value {
	p := s.per[i]
	out := map[string]cty.Value{}
	if name != "env" {
		if v := p.c.args[name]; v != cty.NilVal {
			for k, x := range v.AsValueMap() {
				out[k] = x
			}
		}
		return out
	}
	base := map[string]string{}
	for _, f := range st.envFiles {
		for k, v := range shared[i][f] {
			base[k] = v
		}
	}
	for k, v := range p.c.env {
		if IsSecret(k) {
			continue
		}
		if b, ok := base[k]; !ok || b != v {
			out[k] = cty.StringVal(v)
		}
	}
	return out
}

// splitMap splits the entries of a map argument, given for each
// environment where it is defined, into those alike in all of them and
// whether any other remains.
func splitMap(defined []int, vals func(int) map[string]cty.Value) (map[string]cty.Value, bool) {
	per := map[int]map[string]cty.Value{}
	for _, i := range defined {
		per[i] = vals(i)
	}
	common := map[string]cty.Value{}
	for k, v := range per[defined[0]] {
		alike := true
		for _, i := range defined {
			x, ok := per[i][k]
			alike = alike && ok && x.RawEquals(v)
		}
		if alike {
			common[k] = v
		}
	}
	varying := false
	for _, i := range defined {
		varying = varying || len(per[i]) > len(common)
	}
	return common, varying
}

// active reports whether service s runs in environment i.
func (im *importer) active(s *service, i int) bool { return s.per[i] != nil && s.per[i].active }

// stand returns the environment whose definition of s stands for
// environment i where s is not defined: its nearest ancestor that
// defines it, else the first that does.
func (im *importer) stand(s *service, i int) int {
	for j := i; j >= 0; j = im.parent[j] {
		if s.per[j] != nil {
			return j
		}
	}
	for j, p := range s.per {
		if p != nil {
			return j
		}
	}
	return -1
}

// desiredContainers is env.containers as environment i must read it,
// given what it inherits: parent is the parent's, or cty.NilVal.
func (im *importer) desiredContainers(lo *layout, i int, parent cty.Value) cty.Value {
	out := map[string]cty.Value{}
	for _, st := range lo.steps {
		s := st.svc
		obj := map[string]cty.Value{}
		if st.when {
			obj["enabled"] = cty.BoolVal(im.active(s, i))
		}
		src := im.stand(s, i)
		for _, name := range st.varying {
			v := s.per[src].c.args[name]
			if v == cty.NilVal {
				v = cty.NullVal(cty.DynamicPseudoType)
			}
			obj[name] = v
		}
		for _, name := range mapArgs {
			m := st.maps[name]
			if !m.varying {
				continue
			}
			res := im.residual(s, st, src, name, lo.shared)
			own := map[string]cty.Value{}
			for k, v := range res {
				if _, common := m.common[k]; !common {
					own[k] = v
				}
			}
			// What the parent sets, this one must set again to its own
			// value: the parent's would win over the env files'.
			final := im.finalMap(s, src, name)
			if inherited := attr(attr(parent, s.step), name); inherited != cty.NilVal && mergeable(inherited) {
				for k := range inherited.AsValueMap() {
					if _, ok := own[k]; !ok {
						if v, ok := final[k]; ok {
							own[k] = v
						}
					}
				}
			}
			obj[name] = cty.ObjectVal(own)
		}
		if len(obj) > 0 {
			out[s.step] = cty.ObjectVal(obj)
		}
	}
	return cty.ObjectVal(out)
}

// finalMap is map argument name of service s in environment i, whole
// (env without secrets).
func (im *importer) finalMap(s *service, i int, name string) map[string]cty.Value {
	p := s.per[i]
	out := map[string]cty.Value{}
	if name == "env" {
		for k, v := range nonSecret(p.c.env) {
			out[k] = cty.StringVal(v)
		}
		return out
	}
	if v := p.c.args[name]; v != cty.NilVal {
		for k, x := range v.AsValueMap() {
			out[k] = x
		}
	}
	return out
}

// desiredEnvFiles is env.env_files as environment i must read it.
func (im *importer) desiredEnvFiles(lo *layout, i int, shared []map[string]map[string]string) cty.Value {
	out := map[string]cty.Value{}
	for _, st := range lo.steps {
		for _, key := range st.envFiles {
			if _, done := out[key]; done {
				continue
			}
			vals, ok := shared[i][key]
			if !ok {
				// No service reads it here: the values of the
				// environment that stands in are as good as any.
				vals = shared[im.stand(st.svc, i)][key]
			}
			obj := map[string]cty.Value{}
			for k, v := range vals {
				obj[k] = cty.StringVal(v)
			}
			out[key] = cty.ObjectVal(obj)
		}
	}
	return cty.ObjectVal(out)
}

// delta returns what an environment must set over parent (its parent's
// value, cty.NilVal for none) for deep merging to give desired: objects
// recursively, anything else whole, null for what desired does not have.
func delta(parent, desired cty.Value) cty.Value {
	if parent == cty.NilVal || !mergeable(parent) || !mergeable(desired) {
		return desired
	}
	pm, dm := parent.AsValueMap(), desired.AsValueMap()
	out := map[string]cty.Value{}
	for k, dv := range dm {
		pv, ok := pm[k]
		switch {
		case !ok:
			out[k] = dv
		case mergeable(pv) && mergeable(dv):
			if d := delta(pv, dv); d.LengthInt() > 0 {
				out[k] = d
			}
		case !pv.RawEquals(dv):
			out[k] = dv
		}
	}
	for k := range pm {
		if _, ok := dm[k]; !ok {
			out[k] = cty.NullVal(cty.DynamicPseudoType)
		}
	}
	return cty.ObjectVal(out)
}

// inherit is what an environment reads: its own value merged over its
// parent's, as zrun merges them.
func inherit(parent, own cty.Value) cty.Value {
	if parent == cty.NilVal {
		return own
	}
	return dsl.DeepMerge(parent, own)
}

// mergeable reports whether v is an object deep merging goes into.
func mergeable(v cty.Value) bool {
	return v != cty.NilVal && v.IsKnown() && !v.IsNull() && (v.Type().IsObjectType() || v.Type().IsMapType())
}

// attr returns attribute name of object v, or cty.NilVal.
func attr(v cty.Value, name string) cty.Value {
	if !mergeable(v) || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return v.GetAttr(name)
}

// hasNull reports whether object v has a null attribute.
func hasNull(v cty.Value) bool {
	if !mergeable(v) {
		return false
	}
	for _, x := range v.AsValueMap() {
		if x.IsNull() {
			return true
		}
	}
	return false
}

// sameValue reports whether two argument values (cty.NilVal: unset) are
// the same.
func sameValue(a, b cty.Value) bool {
	if a == cty.NilVal || b == cty.NilVal {
		return a == b
	}
	return a.RawEquals(b)
}

// nonSecret returns the entries of env that are not secrets.
func nonSecret(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if !IsSecret(k) {
			out[k] = v
		}
	}
	return out
}
