// Package compose imports Docker Compose projects into zrun HCL: `zrun
// import compose`. It reads each environment's compose files with
// compose-go (github.com/compose-spec/compose-go/v2), as docker compose
// does: overrides, profiles, env files, interpolation from the process
// environment and the .env file, extends, YAML anchors. It writes one
// workflow with a docker.container step per service (and a docker.network
// or docker.volume step per network and volume the services use), and one
// environment block per environment holding what differs between them,
// written to be deep-merged along the environments' extends chain as dsl
// reads them.
//
// Values of environment variables whose names look like secrets
// (PASSWORD, TOKEN, SECRET, KEY) are never written: the steps read them
// as secret.NAME, and each environment's secret blocks say where from
// (the dotenv file compose read them from, or the process variable it
// interpolated). What compose has and docker.container cannot take is a
// warning naming the service and the key, at its place in the compose
// file; a file compose-go refuses is an error at its file, line and
// column.
//
// The arguments written are those of docs/docker-plugin.md, listed once
// in ContainerArgs, NetworkArgs and VolumeArgs. The package evaluates
// nothing and runs nothing: cmd/zrun writes the files, and its tests
// evaluate them with the engine. See docs/compose-import.md.
package compose
