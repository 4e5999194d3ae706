package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestMissingEnv: with several environments and no --env, running or
// planning is a usage error that lists the environments.
func TestMissingEnv(t *testing.T) {
	t.Parallel()
	dir := project(t, "newuser")
	for _, cmd := range []string{"workflow", "plan"} {
		r := zrun(t, dir, nil, cmd, "empty")
		wantCode(t, r, 2)
		wantContains(t, "stderr", oneLine(r.stderr), "No environment selected", "--env", "dev, prod")
	}
}

// TestPlanRunCommand: the command plan suggests is the one given, with
// every param and flag, quoted for the shell, sensitive values left out;
// filled in, it runs.
func TestPlanRunCommand(t *testing.T) {
	t.Parallel()
	dir := project(t, "newuser")
	const secret = "s3cr3t-token"
	tests := map[string]struct {
		args []string
		want string
	}{
		"plan": {
			[]string{"plan", "greet", "--env", "dev", "--param", "who=first", "--param", "token=" + secret, "--param", "who=it's me", "--parallelism", "3"},
			"zrun -C " + dir + ` workflow greet --env dev --param 'who=it'\''s me' --param token=... --parallelism 3`,
		},
		"dry run": {
			[]string{"workflow", "greet", "--dry-run", "-p", "who=a b", "-p", "token=" + secret, "--env", "prod", "--lock-wait", "5m"},
			"zrun -C " + dir + ` workflow greet --env prod --param 'who=a b' --param token=... --lock-wait 5m0s`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := zrun(t, dir, nil, tc.args...)
			wantCode(t, r, 0)
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("the sensitive param shows:\n%s", r)
			}
			_, got, ok := strings.Cut(strings.TrimSpace(r.stdout), "Run it with: ")
			if !ok || got != tc.want {
				t.Fatalf("run command\n got %s\nwant %s\n%s", got, tc.want, r)
			}
			// The shell reads it back as the words it stands for.
			sh := exec.Command("sh", "-c", strings.Replace(got, "token=...", "token=filled-in", 1)+" --output json")
			sh.Dir = dir
			sh.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"), "HOME="+emptyHome, "ZRUN_ENV=")
			out, err := sh.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", got, err, out)
			}
			want := "hello " + map[string]string{"plan": "it's me", "dry run": "a b"}[name]
			if !strings.Contains(string(out), want) {
				t.Errorf("the run did not say %q:\n%s", want, out)
			}
		})
	}
}

// TestPlainViewReads: the plain view's lines as a newcomer reads them: a
// retried step says how many attempts it took, a multi-line error keeps
// the timestamp on every line, a skipped step says why once, and an empty
// workflow has nothing to run.
func TestPlainViewReads(t *testing.T) {
	t.Parallel()
	dir := project(t, "newuser")
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `)

	r := zrun(t, dir, nil, "workflow", "flaky", "--env", "dev")
	wantCode(t, r, 0)
	if !regexp.MustCompile(`Z step\.flaky ok after 3 attempts in \d`).MatchString(r.stdout) {
		t.Errorf("no attempts on the final line:\n%s", r.stdout)
	}

	r = zrun(t, dir, nil, "workflow", "multiline", "--env", "dev")
	wantCode(t, r, 4)
	lines, _, _ := strings.Cut(r.stdout, "\n\n")
	for _, line := range strings.Split(lines, "\n") {
		if !stamp.MatchString(line) {
			t.Errorf("line without a timestamp: %q", line)
		}
	}
	wantContains(t, "stdout", r.stdout, "Z step.fail   second\n", "Z step.after skipped: step.fail did not succeed\n")
	if strings.Contains(r.stdout, "skipped: skipped") {
		t.Errorf("doubled skip reason:\n%s", r.stdout)
	}

	r = zrun(t, dir, nil, "workflow", "empty", "--env", "dev")
	wantCode(t, r, 0)
	if !regexp.MustCompile(`\nRun \S+ ok in \S+: nothing to run\.\n`).MatchString(r.stdout) {
		t.Errorf("no sentence for an empty run:\n%s", r.stdout)
	}
}

// TestGraphText: `zrun graph --format text` lists the steps in an order
// they could run, each with what it waits for.
func TestGraphText(t *testing.T) {
	t.Parallel()
	dir := project(t, "newuser")
	r := zrun(t, dir, nil, "graph", "multiline", "--format", "text")
	wantCode(t, r, 0)
	if want := "step.fail (exec.run)\nstep.after (exec.run)\n    after step.fail\n"; r.stdout != want {
		t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
	}
}
