// Package http is zrun's builtin "http" plugin: http.request sends one
// request and checks its answer; http.check polls many URLs concurrently
// until each is healthy or its deadline passes, the health-check script of
// a deployment guide done once, properly.
//
// Connections are dialled through the step's target (sdk.Target.Dial), so
// a check sees services from the target's point of view: the local machine
// today, a remote host once the ssh communicator lands. Like every builtin,
// it imports only the SDK.
package http
