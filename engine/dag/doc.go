// Package dag is a generic directed acyclic graph with cycle detection, a
// topological order, renderers (DOT, Mermaid and text) and a concurrent walker.
//
// An edge added with Connect(from, to) means "from depends on to": to runs
// first. Every function here keeps that one direction; only the renderers
// draw arrows the other way, in the order things run.
//
// The package knows nothing of steps, workflows or configuration: the engine
// builds a Graph from config, turns cycles into diagnostics with source
// ranges, and limits parallelism with a semaphore inside its WalkFunc. Walk
// itself never limits concurrency. It imports only the standard library.
package dag
