// Package archive is zrun's builtin "archive" plugin: archive.pack
// compresses a stream (zstd on every core, or gzip for compatibility) and
// optionally encrypts it with age, archive.unpack undoes that and checks
// what it read against the sha256 and size a backup's manifest recorded.
// Both sit in the middle of pipes (from = step.dump.stream, and their
// own stream output), hash both sides as the bytes pass, and never hold
// a whole stream nor write a temporary file: memory is bounded by the
// compressor's buffers whatever the size (docs/archive-plugin.md states
// the bounds).
//
// The plugin runs on the machine zrun runs on and ignores the step's
// target: the bytes reach it through pipes, from a step that may run on
// a server. It owns the formats (zstd frames, gzip members, age files)
// and their integrity checks; where the bytes come from and go to is the
// business of its neighbours in the pipe (postgres.dump, rclone.upload).
// Identities and passphrases are sensitive arguments: no error, log,
// plan or output of this package quotes them.
package archive
