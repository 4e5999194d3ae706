// Package nginx is zrun's builtin "nginx" plugin: nginx.site renders a
// site's configuration (upstreams, rate-limit zones, TLS server blocks
// with their certificates and keys) from HCL, nginx.upstream rewrites one
// upstream's file (what a zero-downtime deploy calls to point traffic at
// a new container), and nginx.test, nginx.reload and nginx.ensure_running
// drive the server itself.
//
// Every change goes through one cycle (apply.go): compare the files with
// what the target has (equal: nothing is touched, nginx is not reloaded),
// keep the previous contents, publish the new ones atomically, run
// `nginx -t`, reload, and prove the reload took (the master's workers
// were replaced). Any failure puts the previous files back, and after a
// reload reloads again, so nginx keeps serving the configuration it had.
//
// Like a third party's plugin it imports only the SDK: commands and files
// go through sdk.Target, so the same steps work on the machine zrun runs
// on and on a host over SSH. It leaves the HTTP checks of what nginx
// serves to the http plugin.
package nginx
