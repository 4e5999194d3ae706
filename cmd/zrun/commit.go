package main

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// projectCommit is the git commit of the project folder dir, with "-dirty"
// when tracked files have uncommitted changes; "" when dir is not in a git
// work tree or git is missing. It never holds a run up for long.
func projectCommit(ctx context.Context, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "-q", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(strings.TrimSpace(string(status))) > 0 {
		commit += "-dirty"
	}
	return commit
}
