// Package local is the communicator for the machine zrun runs on: the
// sdk.Target that steps get when they name no host.
//
// It is also the seam for remote targets. An action only ever sees the
// sdk.Target interface (run a command, read and write a file atomically,
// dial a socket), so the SSH communicator of the ssh issue plugs in beside
// this one and every plugin works unchanged on a remote host. The engine
// decides which Target a step gets; this package knows nothing of
// environments, hosts or the plugin wire.
//
// It also keeps the promise that no process a command starts outlives it
// for long (procs.go): each command runs in its own process group, which is
// stopped when the command ends; a process that is a child subreaper
// (BecomeSubreaper: zrun and every plugin process) also stops the
// command's descendants that left the group, found by CommandIDEnv, and
// can kill its orphans (KillOrphans) or everything below it
// (KillDescendants). Such a process starts its other children through
// Spawn, so they are never taken for orphans.
package local
