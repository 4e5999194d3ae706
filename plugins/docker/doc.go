// Package docker is zrun's docker plugin: images, containers, networks and
// volumes on the Docker Engine of a step's target, through
// github.com/docker/docker/client.
//
// The engine is reached through the target (sdk.Target.Dial): the local
// socket on this machine, or a server's socket through the run's SSH
// connection, so no Docker CLI runs anywhere and no TCP port is opened on
// the server. The client negotiates the API version with the engine
// (Debian's docker.io 20.10 speaks API 1.41).
//
// Containers are declarative: docker.container compares the spec it is
// given with the one recorded on the running container (the zrun.spec
// label) and replaces the container only when they differ, starting the
// new one beside the old and stopping the old only once the new one is
// healthy.
package docker
