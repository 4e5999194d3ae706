package compose

import (
	"os"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
)

// secretName matches the environment variables whose values are treated
// as secrets: never written into HCL, read at run time instead.
var secretKey = regexp.MustCompile(`(?i)PASSWORD|TOKEN|SECRET|KEY`)

// IsSecret reports whether an environment variable named key holds a
// secret.
func IsSecret(key string) bool { return secretKey.MatchString(key) }

// Source is where zrun reads a secret from: a key of a dotenv file or a
// process environment variable, as a secret block says.
type Source struct {
	Dotenv string // an absolute path
	Key    string
	Env    string
}

// trace is what tracing a secret found: where to read it, and why that
// may not give compose's value (empty when it does).
type trace struct {
	src     Source
	problem string
	// literal: the value is written in clear in a compose file, so zrun
	// reads it from the environment's dotenv file, where it must be put.
	literal bool
}

// marker stands for variable name in a value, so that what a value was
// written as can be told from what it became.
func marker(name string) string { return "\x00" + name + "\x00" }

var markerRe = regexp.MustCompile("\x00([^\x00]*)\x00")

// reference tells what a raw value refers to: the one variable it is
// made of (whole), or the variables it holds among other text.
func reference(raw string) (whole string, vars []string) {
	out, err := template.SubstituteWithOptions(raw, func(name string) (string, bool) { return marker(name), true }, template.WithoutLogging)
	if err != nil {
		return "", nil
	}
	for _, m := range markerRe.FindAllStringSubmatch(out, -1) {
		vars = append(vars, m[1])
	}
	if len(vars) == 1 && out == marker(vars[0]) {
		return vars[0], nil
	}
	return "", vars
}

// rawDotenv reads a dotenv file as compose does, with every variable the
// file does not define itself left as a marker.
func rawDotenv(path string) map[string]string {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	vals, err := dotenv.UnmarshalBytesWithLookup(src, func(name string) (string, bool) { return marker(name), true })
	if err != nil {
		return nil
	}
	return vals
}

// traceSecret finds where service s's variable key comes from in ep.
func (ep *envProject) traceSecret(s types.ServiceConfig, key string) trace {
	if raw, ok := ep.rawEnv[s.Name][key]; ok {
		if raw == nil { // `- KEY`: from the project's environment
			return ep.traceVar(key)
		}
		whole, vars := reference(*raw)
		switch {
		case whole != "":
			return ep.traceVar(whole)
		case len(vars) > 0:
			t := ep.fallback(key)
			t.problem = "its value is made of " + strings.Join(vars, ", ") + " and other text, which no one secret source gives"
			return t
		default:
			t := ep.fallback(key)
			t.literal = true
			return t
		}
	}
	// From the last env file that sets it.
	files := s.EnvFiles
	for i := len(files) - 1; i >= 0; i-- {
		raw, ok := rawDotenv(files[i].Path)[key]
		if !ok {
			continue
		}
		if whole, _ := referenceMarker(raw); whole != "" {
			return ep.traceVar(whole)
		}
		if strings.Contains(raw, "\x00") {
			return trace{src: Source{Dotenv: files[i].Path, Key: key},
				problem: "its value in " + files[i].Path + " uses variables from outside the file, which zrun's dotenv reader does not expand"}
		}
		return trace{src: Source{Dotenv: files[i].Path, Key: key}}
	}
	return ep.fallback(key)
}

// referenceMarker is reference for a value read by rawDotenv.
func referenceMarker(v string) (string, bool) {
	if m := markerRe.FindStringSubmatch(v); m != nil && v == marker(m[1]) {
		return m[1], true
	}
	return "", false
}

// traceVar finds where variable name of compose's interpolation comes
// from: the process environment wins over the dotenv file, as in compose;
// one set in neither is read from the process environment of the machine
// zrun runs on (compose has warned that it is not set here).
func (ep *envProject) traceVar(name string) trace {
	if ep.process[name] || ep.dotenv == "" {
		return trace{src: Source{Env: name}}
	}
	raw, ok := rawDotenv(ep.dotenv)[name]
	switch whole, _ := referenceMarker(raw); {
	case !ok:
		return trace{src: Source{Env: name}}
	case whole != "":
		return trace{src: Source{Env: whole}}
	case strings.Contains(raw, "\x00"):
		return trace{src: Source{Dotenv: ep.dotenv, Key: name},
			problem: "its value in " + ep.dotenv + " uses variables from outside the file, which zrun's dotenv reader does not expand"}
	}
	return trace{src: Source{Dotenv: ep.dotenv, Key: name}}
}

// fallback is where a secret that compose does not read from anywhere
// zrun can is read: the environment's dotenv file, under its own key.
func (ep *envProject) fallback(key string) trace {
	if ep.dotenv != "" {
		return trace{src: Source{Dotenv: ep.dotenv, Key: key}}
	}
	return trace{src: Source{Env: key}}
}
