// Command app is the example stack's service: one tiny static HTTP server,
// built FROM scratch into an image, that stands for each of the guide's
// services. Its environment says which one and how it behaves:
//
//	SERVICE      its name (gateway, calc-service, ...), shown by / and /health
//	VERSION      its version, shown by / and /health
//	PORT         the port it listens on (default 8080)
//	START_DELAY  how long /health answers 503 after the start (default 0)
//	UNHEALTHY    when "1", /health always answers 500: a bad release
//
// `app -check URL` is its own health probe (an image FROM scratch has no
// curl): it exits 0 when URL answers 2xx within two seconds, 1 otherwise.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	check := flag.String("check", "", "probe this URL and exit 0 when it answers 2xx")
	flag.Parse()
	if *check != "" {
		os.Exit(probe(*check))
	}
	service, version := env("SERVICE", "app"), env("VERSION", "dev")
	delay, err := time.ParseDuration(env("START_DELAY", "0s"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "START_DELAY: %v\n", err)
		os.Exit(2)
	}
	unhealthy := os.Getenv("UNHEALTHY") == "1"
	start := time.Now()
	info := func(w http.ResponseWriter, status string, code int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"service": service, "version": version, "status": status})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case unhealthy:
			info(w, "broken", http.StatusInternalServerError)
		case time.Since(start) < delay:
			info(w, "starting", http.StatusServiceUnavailable)
		default:
			info(w, "ok", http.StatusOK)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { info(w, "ok", http.StatusOK) })
	srv := &http.Server{Addr: ":" + env("PORT", "8080"), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// Finish the requests in flight, as a well-behaved service does.
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Printf("%s %s listening on %s\n", service, version, srv.Addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func probe(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}
