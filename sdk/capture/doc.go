// Package capture keeps a bounded copy of a command's output for an
// action's outputs and error messages: the first bytes up to a limit (the
// step output) and the last few KiB (the lines an error quotes), whatever
// the output's size. The exec and ssh plugins use it; a third-party
// plugin that runs commands may too.
package capture
