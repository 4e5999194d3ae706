// Package rclone is zrun's builtin "rclone" plugin: it moves backups to and
// from object storage and folders through rclone's library
// (github.com/rclone/rclone), with only the backends zrun supports linked
// in: local, sftp, s3, b2 and crypt.
//
// rclone.upload streams a pipe to a remote without a temporary file on
// this machine and never leaves a failed upload looking complete (S3 and
// B2 abort their multipart uploads; local, sftp and crypt over them
// upload to a hidden name and rename it into place). rclone.download
// streams an object into a pipe, rclone.hash reads one back to check its
// SHA-256, rclone.write and rclone.read move small objects (manifests),
// rclone.list and rclone.delete do what they say, and rclone.retention
// deletes old backups by restic-style keep rules.
//
// A remote is declared in HCL (an object of rclone backend parameters,
// built into rclone's in-memory config, never written to disk) or named
// in an rclone.conf that is read, never modified (remote.go). rclone is
// set up lazily, on an action's first use of a remote, so the other
// builtin plugins, which run the same zrun binary, pay only rclone's
// package initialisation. Like every plugin it imports only the SDK of
// zrun; it runs in zrun's process's machine (not on the step's target).
package rclone
