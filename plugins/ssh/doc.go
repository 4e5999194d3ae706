// Package ssh is zrun's builtin "ssh" plugin: ssh.run runs a command or a
// script on the step's target, ssh.upload and ssh.download move files,
// folders and streams to and from it, and ssh.template publishes a
// rendered file only when its content changed.
//
// Despite its name it holds no SSH code: like a third party's plugin it
// imports only the SDK and works through sdk.Target (Exec, Open, Create,
// Stat, ReadDir, MkdirAll). zrun's process owns the SSH connections and
// the credentials; the same step runs against the local machine or a
// host. The local side of upload and download (the machine zrun runs
// on, which is this process's) is the os package, with the same atomic
// publish as Target.Create (writeLocal).
package ssh
