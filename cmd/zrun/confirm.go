package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/zrun-dev/zrun/engine"
)

// maxAnswer bounds the line read as the answer to a confirmation: a
// terminal's own line is at most 4 KiB, a pasted file is not an answer.
const maxAnswer = 4096

// confirmer is the engine's hook before a run in a protected environment:
// with --yes it goes on at once; on a terminal it asks for the
// environment's name to be typed (Terraform's apply asks for "yes"), and
// anything else aborts; without a terminal on stdin it refuses, saying
// that --yes is the way. The question goes to stderr, so that stdout stays
// the run's (JSON with --output json).
func (a *app) confirmer(yes bool) engine.ConfirmFunc {
	return func(ctx context.Context, c engine.Confirmation) (string, error) {
		if yes {
			return "--yes", nil
		}
		if !isatty.IsTerminal(os.Stdin.Fd()) && !isatty.IsCygwinTerminal(os.Stdin.Fd()) {
			return "", fmt.Errorf("Environment %q is protected: a run there asks for the environment's name to be typed on a terminal, and standard input is not one. Give --yes to run without asking (in CI, say).", c.Env)
		}
		what := "run workflow " + c.Workflow
		if c.ResumeOf != "" {
			what = fmt.Sprintf("resume run %s of workflow %s", c.ResumeOf, c.Workflow)
		}
		fmt.Fprintf(a.stderr, "This will %s in the protected environment %s. Type the environment's name to go on: ", what, c.Env)
		answer, err := readAnswer(ctx, os.Stdin)
		if err != nil {
			fmt.Fprintln(a.stderr)
			return "", err
		}
		if answer != c.Env {
			// What was typed is not repeated: it may be anything, a password typed in the wrong window.
			return "", fmt.Errorf("Cancelled: what was typed is not %q.", c.Env)
		}
		return "typed the environment's name", nil
	}
}

// readAnswer reads one line from r, without its line ending and the
// spaces around it; it gives up when ctx ends (Ctrl-C), leaving the read
// to finish by itself.
func readAnswer(ctx context.Context, r io.Reader) (string, error) {
	type answer struct {
		line string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReaderSize(io.LimitReader(r, maxAnswer), 64).ReadString('\n')
		if errors.Is(err, io.EOF) && line != "" && len(line) < maxAnswer {
			err = nil
		}
		got <- answer{strings.TrimSpace(line), err}
	}()
	select {
	case <-ctx.Done():
		return "", context.Cause(ctx)
	case a := <-got:
		if errors.Is(a.err, io.EOF) {
			return "", errors.New("Cancelled: no answer was given.")
		}
		return a.line, a.err
	}
}
