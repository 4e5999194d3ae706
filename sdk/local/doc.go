// Package local is the communicator for the machine zrun runs on: the
// sdk.Target that steps get when they name no host.
//
// It is also the seam for remote targets. An action only ever sees the
// sdk.Target interface (run a command, read and write a file atomically,
// dial a socket), so the SSH communicator of the ssh issue plugs in beside
// this one and every plugin works unchanged on a remote host. The engine
// decides which Target a step gets; this package knows nothing of
// environments, hosts or the plugin wire.
package local
