package sdk

import (
	"errors"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is a problem a plugin reports about a step. Path points at
// the argument at fault (cty.GetAttrPath("url")); the host maps it to the
// source range in the user's workflow file. Code, when set, says what
// kind of failure it is, for the host to act on: hosts tell failures
// apart by code, never by their text.
type Diagnostic struct {
	Severity Severity
	Summary  string
	Detail   string
	Path     cty.Path
	Code     Code
}

// Code classifies a diagnostic. Most diagnostics have none ("").
type Code string

// CodePluginPanicked marks the error of an action that panicked: a
// failure of the plugin itself, not of the step's work (zrun exits with
// its plugin-failure code).
const CodePluginPanicked Code = "plugin_panicked"

// Diagnostics is a list of diagnostics.
type Diagnostics []Diagnostic

// Errorf appends an error diagnostic about the argument at path.
func (d Diagnostics) Errorf(path cty.Path, summary, detail string) Diagnostics {
	return append(d, Diagnostic{Severity: Error, Summary: summary, Detail: detail, Path: path})
}

// HasErrors reports whether any diagnostic is an error.
func (d Diagnostics) HasErrors() bool {
	for _, diag := range d {
		if diag.Severity == Error {
			return true
		}
	}
	return false
}

// Err returns the errors as one error, or nil.
func (d Diagnostics) Err() error {
	var msgs []string
	for _, diag := range d {
		if diag.Severity != Error {
			continue
		}
		msg := diag.Summary
		if diag.Detail != "" {
			msg += ": " + diag.Detail
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Mark is the type of the cty marks zrun puts on values.
type Mark string

// Sensitive marks a value zrun must never show: a sensitive param or
// argument, a secret, or anything computed from one. The mark follows the
// value through every expression and across the plugin wire; zrun masks
// it in output, events, plans, errors and plugin log lines.
const Sensitive Mark = "sensitive"
