// Package targets connects a run to the hosts its steps target: it
// resolves a host's settings into a Config, and its Pool holds the run's
// SSH connections (golang.org/x/crypto/ssh), one per host, opened lazily
// and shared by every step and every plugin that targets the host. Each
// connection is an sdk.Target: commands over SSH sessions, files over
// SFTP (github.com/pkg/sftp), Dial over the connection's direct-tcpip and
// direct-streamlocal channels.
//
// Keys, passphrases and agent sockets stay in zrun's process: plugins
// reach a host only through the sdk.Target the engine serves them.
//
// It leaves to engine which host a step runs on (target, fan-out,
// batches), and to dsl the parsing of host blocks.
package targets
