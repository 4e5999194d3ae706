package compose

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// envSecret is one secret of one environment: where it is read from and
// who reads it.
type envSecret struct {
	src   Source
	users []string // STEP.VAR
	// problem says why src may not give compose's value.
	problem string
	// unused: no service that runs here has the variable.
	unused bool
}

// secretPair is one env entry of one step read from a secret, with what
// tracing it found in each environment (nil where the service does not
// have it).
type secretPair struct {
	st     *stepLayout
	ref    *secretRef
	traces []*trace
}

// nameSecrets names the secret every secret env entry is read from, the
// same name in every environment: entries that read the same source in
// every environment share one, named after the variable it is read as
// (DB_PASSWORD: db_password). It returns each environment's secrets.
func (im *importer) nameSecrets(lo *layout) []map[string]*envSecret {
	var pairs []*secretPair
	byBase := map[string][]*secretPair{}
	var bases []string
	for _, st := range lo.steps {
		for j := range st.secrets {
			sp := &secretPair{st: st, ref: &st.secrets[j], traces: make([]*trace, len(im.envs))}
			var base string
			for i, p := range st.svc.per {
				if p == nil {
					continue
				}
				if t, ok := p.secrets[sp.ref.key]; ok {
					sp.traces[i] = &t
					if base == "" {
						base = secretName(t.src.variable())
					}
				}
			}
			pairs = append(pairs, sp)
			if _, seen := byBase[base]; !seen {
				bases = append(bases, base)
			}
			byBase[base] = append(byBase[base], sp)
		}
	}
	taken := map[string]bool{}
	for _, base := range bases {
		group := byBase[base]
		if compatible(group, len(im.envs)) {
			name := unique(base, taken)
			for _, sp := range group {
				sp.ref.name = name
			}
			continue
		}
		for _, sp := range group {
			sp.ref.name = unique(secretName(sp.st.svc.step+"_"+base), taken)
		}
	}
	out := make([]map[string]*envSecret, len(im.envs))
	for i := range im.envs {
		out[i] = map[string]*envSecret{}
		for _, sp := range pairs {
			es := out[i][sp.ref.name]
			if es == nil {
				es = &envSecret{unused: true}
				out[i][sp.ref.name] = es
			}
			user := sp.st.svc.step + "." + sp.ref.key
			es.users = append(es.users, user)
			t := sp.traces[i]
			active := im.active(sp.st.svc, i)
			if t == nil {
				if active {
					im.warn(i, sp.st.svc, "environment", "Extra secret",
						"Service %s gets %s from secret.%s here too, though compose gives it none: a step's env is the same in every environment.", sp.st.svc.name, sp.ref.key, sp.ref.name)
				}
				continue
			}
			if es.src == (Source{}) || es.unused && active {
				es.src, es.problem = t.src, t.problem
			}
			es.unused = es.unused && !active
			if t.problem != "" {
				im.warn(i, sp.st.svc, "environment", "Secret read elsewhere",
					"Service %s's %s is read as secret.%s from %s, but %s: check the value.", sp.st.svc.name, sp.ref.key, sp.ref.name, im.describe(t.src), t.problem)
			}
			if t.literal && !t.src.present() {
				im.warn(i, sp.st.svc, "environment."+sp.ref.key, "Secret to move",
					"Service %s's %s is written in clear in a compose file: it is not copied into the HCL, and zrun reads it as secret.%s from %s, which does not have it yet. Add it there.",
					sp.st.svc.name, sp.ref.key, sp.ref.name, im.describe(t.src))
			}
		}
		for _, name := range sortedKeys(out[i]) {
			es := out[i][name]
			if es.src != (Source{}) {
				continue
			}
			var key string
			for _, sp := range pairs {
				if sp.ref.name == name {
					key = sp.ref.key
					break
				}
			}
			es.src = im.envs[i].fallback(key).src
			if !es.src.present() {
				im.warns.add(i, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Secret to provide",
					Detail: fmt.Sprintf("The steps read secret.%s (%s) in every environment, but no service has it in compose in %s; zrun reads all the secrets of a workflow before its first step, so every run of workflow %s in %s needs %s: add it there (any value will do for a service that does not run there).",
						name, usersOf(es.users), im.opts.Envs[i].Name, im.opts.Workflow, im.opts.Envs[i].Name, im.describe(es.src))})
			}
		}
	}
	return out
}

// compatible reports whether the pairs read the same source in every
// environment where more than one has the variable.
func compatible(group []*secretPair, nenvs int) bool {
	for i := range nenvs {
		var src *Source
		for _, sp := range group {
			t := sp.traces[i]
			if t == nil {
				continue
			}
			if src != nil && *src != t.src {
				return false
			}
			src = &t.src
		}
	}
	return true
}

// variable is the name a source reads: the dotenv key or the variable.
func (s Source) variable() string {
	if s.Env != "" {
		return s.Env
	}
	return s.Key
}

// present reports whether the source has a value now: the dotenv file
// has the key. A process variable is the deploying machine's business.
func (s Source) present() bool {
	if s.Dotenv == "" {
		return true
	}
	_, ok := rawDotenv(s.Dotenv)[s.Key]
	return ok
}

// describe says where a source is, for a message.
func (im *importer) describe(s Source) string {
	if s.Env != "" {
		return "the environment variable " + s.Env
	}
	return fmt.Sprintf("%s, key %s", im.dotenvPath(s.Dotenv), s.Key)
}

// dotenvPath is a dotenv file's path as a secret block writes it:
// relative to the zrun project folder.
func (im *importer) dotenvPath(p string) string {
	if rel, err := filepath.Rel(im.out, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

// secretName makes a variable's name a secret's: lowercase, with
// underscores for what a name cannot hold.
func secretName(v string) string {
	return stepName(strings.ToLower(v))
}

// warn adds a warning about key of service s in environment i.
func (im *importer) warn(i int, s *service, key, summary, format string, args ...any) {
	im.warns.add(i, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  position(im.envs[i].files, append([]string{"services", s.name}, strings.Split(key, ".")...)...),
	})
}
