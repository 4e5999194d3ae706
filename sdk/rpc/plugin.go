package rpc

import (
	"context"
	"errors"
	"math"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/internal/tlswarm"
	"github.com/zrun-dev/zrun/sdk/local"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// ProtocolVersion is the major version of the wire protocol this package
// speaks (sdk/proto/zrunplugin/v1), the handshake's. Version 2 carries
// output as bytes, every RunAction on one Run stream, and the streaming
// Target (Open, Create, half-close); version 1 binaries are refused at the
// handshake. Until the first release the .proto package keeps its v1 name
// (see sdk's doc.go).
const ProtocolVersion = 2

// PluginName is the name the plugin is dispensed under in go-plugin's
// plugin sets.
const PluginName = "zrun"

// Handshake is the go-plugin handshake shared by zrun and its plugins. The
// cookie only tells a plugin binary run by hand that it is a plugin; it is
// not a secret.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ZRUN_PLUGIN",
	MagicCookieValue: "d3b6a1c0-zrun-plugin-7f9e2c4b",
}

// VersionedPlugins returns the plugin sets of every protocol version this
// package serves, keyed by version. impl is nil on the host side. A v2
// would be added here beside v1 for a migration.
func VersionedPlugins(impl sdk.Client) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// GRPCPlugin is the go-plugin glue: GRPCServer serves Impl in the plugin
// process, GRPCClient returns a *Client in the host.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is what the plugin process serves; unused by the host.
	Impl sdk.Client
}

// GRPCServer registers the Plugin service.
func (p *GRPCPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("rpc.GRPCPlugin: no Impl to serve")
	}
	pb.RegisterPluginServer(s, &server{impl: p.Impl, broker: broker, local: local.Target(local.WithoutEnv(pluginEnv()...))})
	return nil
}

// GRPCClient returns the host's *Client for the connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn, broker), nil
}

// PrepareTLS starts preparing, in the background, the cryptography of
// AutoMTLS, which every plugin start uses on both sides. A host calls it
// early, before it knows which plugins it needs; a plugin process does
// it by itself as it starts.
func PrepareTLS() { tlswarm.Start() }

// NewGRPCServer returns a gRPC server without gRPC's 4 MiB limit on the
// messages it receives: a step's arguments or a file written to a target
// may be larger. go-plugin's ServeConfig.GRPCServer takes it.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(math.MaxInt32), grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.StaticStreamWindowSize(streamWindow), grpc.StaticConnWindowSize(connWindow))...)
}

// DialOptions are the options of the host's connection to a plugin
// (go-plugin's ClientConfig.GRPCDialOptions).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStaticStreamWindowSize(streamWindow), grpc.WithStaticConnWindowSize(connWindow)}
}

// The HTTP/2 flow-control windows of both sides' connections, fixed.
// gRPC's default, a window sized by estimating the link's bandwidth,
// pings the peer after every message it receives when the traffic is a
// step's request and its answer, doubling the frames and the wake-ups of
// both processes; on a local socket the estimate has nothing to gain.
const (
	streamWindow = 1 << 20
	connWindow   = 4 << 20
)

// Interface guards
var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)
