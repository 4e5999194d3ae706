//go:build !compose

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"
)

// importCmd runs `zrun import ...` in zrun-compose, with the same
// arguments, streams and exit code.
func (a *app) importCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "import",
		Short:              "Write zrun HCL from another tool's configuration (zrun import compose --help)",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, _ []string) error {
			bin, err := findComposeBinary()
			if err != nil {
				return &exitError{code: exitUsage, msg: err.Error()}
			}
			cmd := exec.CommandContext(ctxOf(c), bin, os.Args[1:]...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, a.stdout, a.stderr
			err = cmd.Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return &exitError{code: exit.ExitCode()} // zrun-compose said why
			}
			return err
		},
	}
}

func findComposeBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), composeBinary)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(composeBinary); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("zrun import needs %s, the zrun built with the compose importer, beside zrun or on PATH: "+
		"`make build` builds both; or `go build -tags compose -o %s ./cmd/zrun` (zrun itself leaves it out, which keeps every start 15 ms faster)",
		composeBinary, composeBinary)
}
