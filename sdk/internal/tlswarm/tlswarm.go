// Package tlswarm prepares, in the background, the P-521 arithmetic that
// go-plugin's AutoMTLS needs on both sides of every plugin start: the
// first P-521 key of a process costs about 7 ms more than the next ones
// (the curve's tables and the crypto module's self-tests).
//
// A plugin process starts the work from this package's init, when
// go-plugin has passed it a client certificate, so it overlaps the
// initialisation of the packages that come after this one (gRPC and
// protobuf among them). The host calls Start as it begins reading its
// configuration.
package tlswarm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"sync"
)

var once sync.Once

// Start begins the work in a new goroutine, once per process.
func Start() {
	once.Do(func() {
		go func() { _, _ = ecdsa.GenerateKey(elliptic.P521(), rand.Reader) }()
	})
}

func init() {
	// go-plugin's server makes its own P-521 certificate when the host
	// sends it one (AutoMTLS).
	if os.Getenv("PLUGIN_CLIENT_CERT") != "" {
		Start()
	}
}
