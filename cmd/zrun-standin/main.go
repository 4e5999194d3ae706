// Command zrun-standin serves stand-ins for the example stack's services:
// each NAME=ADDR argument answers GET /health on ADDR, after an optional
// start-up delay (NAME=ADDR@2s), so the health-check workflow has real
// endpoints to wait for. It exits on SIGINT/SIGTERM or after -max.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	maxLife := flag.Duration("max", 10*time.Minute, "exit after this long, whatever happens")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxLife)
	defer cancel()

	start := time.Now()
	for _, arg := range flag.Args() {
		name, rest, ok := strings.Cut(arg, "=")
		if !ok {
			log.Fatalf("want NAME=ADDR[@DELAY], got %q", arg)
		}
		addr, delayStr, _ := strings.Cut(rest, "@")
		var delay time.Duration
		if delayStr != "" {
			d, err := time.ParseDuration(delayStr)
			if err != nil {
				log.Fatalf("%s: %v", arg, err)
			}
			delay = d
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
			if time.Since(start) < delay {
				http.Error(w, name+" starting", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, "{\"service\":%q,\"status\":\"ok\"}\n", name)
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		go func() { <-ctx.Done(); _ = srv.Close() }()
		fmt.Printf("%s listening on %s\n", name, ln.Addr())
	}
	<-ctx.Done()
}
