// Package plugin is a plugin binary's whole main: Serve checks the
// plugin's schema and serves it over go-plugin's gRPC transport with the
// wire of sdk/rpc. Starting and finding plugin processes is the host's
// business (package plugins); testing an action is sdk/sdktest's.
package plugin
