// Package sshdtest starts real OpenSSH servers (Debian's openssh-server,
// /usr/sbin/sshd) for tests: each on a loopback address of its own with
// generated host and client keys, an authorized_keys file, and a
// known_hosts file that trusts it, killed when the test ends.
//
// It exists so that the communicator (engine/targets), the ssh plugin and
// the fan-out tests talk to the real thing rather than to an in-process
// imitation. It leaves connecting to the servers to its callers.
//
// A test calls Start (or StartMany for a fleet); when sshd is not
// installed the test skips with the command that installs it, or fails
// under CI=true, where a missing component must not pass unnoticed.
package sshdtest
