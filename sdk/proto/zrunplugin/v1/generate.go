// Package zrunpluginv1 is the generated code of the zrun plugin protocol,
// major version 1. Edit zrunplugin.proto and run `go generate` here (needs
// protoc, protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.6.2 on PATH).
package zrunpluginv1

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative zrunplugin.proto
