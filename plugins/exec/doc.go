// Package exec is zrun's builtin "exec" plugin: the exec.run action runs a
// command (an argv, or a script through sh -c) on the step's target,
// streams its output and captures stdout and stderr as outputs.
//
// Like every builtin it imports only the SDK: commands run through the
// target's communicator (sdk.Target.Exec), never os/exec, so the same step
// runs locally or on a remote host.
package exec
