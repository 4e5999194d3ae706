// Package ufw is the builtin ufw plugin: ufw.rules makes a target's ufw
// firewall hold a declared rule set by the smallest difference, rule by
// rule (never a reset), and ufw.status reads it.
//
// Everything goes through the step's sdk.Target (commands through sudo),
// so the same code works locally and on a server over zrun's SSH
// connection. The plugin owns the rule model (rule.go), reading ufw's
// files (state.go), the ordered difference (diff.go), the SSH guard
// (guard.go) and the confirmed apply (confirm.go): a detached process on
// the target that puts the previous files back unless a new login
// cancels it. It leaves connections to the engine's targets and the
// rendering of plans to zrun. docs/ufw-plugin.md is the user's guide.
package ufw
