// Package schema describes what a plugin offers: its actions, their typed
// arguments and outputs. It is a leaf shared by the SDK, the wire and the
// engine, so a schema means the same thing on both sides of a plugin
// process. It imports nothing of zrun's own.
package schema
