package secrets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/sdk"
)

// value is the secret every test hides somewhere; no diagnostic may hold it.
const value = "s3cr3t-Value_42"

// lines numbers the blocks secretAt declares.
var lines atomic.Int64

// secretAt returns a secret declared at a range of its own.
func secretAt(name string, s dsl.Secret) *dsl.Secret {
	line := int(lines.Add(1))
	s.Name = name
	s.DeclRange = hcl.Range{Filename: "secrets.hcl", Start: hcl.Pos{Line: line, Column: 1}, End: hcl.Pos{Line: line, Column: 9}}
	return &s
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// writeFile writes content to name under dir.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkDiags fails when a diagnostic holds the secret value or does not
// point at the secret's block.
func checkDiags(t *testing.T, diags hcl.Diagnostics, secrets map[string]*dsl.Secret) {
	t.Helper()
	for _, d := range diags {
		if strings.Contains(d.Summary+d.Detail, value) || strings.Contains(d.Summary+d.Detail, strings.ToUpper(value)) {
			t.Errorf("diagnostic leaks the value: %s", d)
		}
		found := false
		for _, s := range secrets {
			found = found || d.Subject != nil && *d.Subject == s.DeclRange
		}
		if !found {
			t.Errorf("diagnostic not at a secret block: %s", d)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := map[string]struct {
		secret dsl.Secret
		setup  func(t *testing.T, dir string)
		want   string // the value, when wantErr is empty
		// wantErr is a part of the one diagnostic's detail.
		wantErr string
	}{
		"env": {
			secret: dsl.Secret{Source: dsl.SecretEnv, Value: "ZRUN_TEST_SECRET"},
			setup:  func(t *testing.T, _ string) { t.Setenv("ZRUN_TEST_SECRET", value) },
			want:   value,
		},
		"env unset": {
			secret:  dsl.Secret{Source: dsl.SecretEnv, Value: "ZRUN_TEST_SURELY_UNSET"},
			wantErr: "environment variable ZRUN_TEST_SURELY_UNSET is not set",
		},
		"env empty": {
			secret:  dsl.Secret{Source: dsl.SecretEnv, Value: "ZRUN_TEST_SECRET"},
			setup:   func(t *testing.T, _ string) { t.Setenv("ZRUN_TEST_SECRET", "") },
			wantErr: "environment variable ZRUN_TEST_SECRET is empty",
		},
		"file relative to the project, one newline trimmed": {
			secret: dsl.Secret{Source: dsl.SecretFile, Value: "api_key"},
			setup:  func(t *testing.T, dir string) { writeFile(t, dir, "api_key", value+"\n\n") },
			want:   value + "\n",
		},
		"file in the home folder": {
			secret: dsl.Secret{Source: dsl.SecretFile, Value: "~/keys/api_key"},
			setup: func(t *testing.T, dir string) {
				home := t.TempDir()
				t.Setenv("HOME", home)
				os.Mkdir(filepath.Join(home, "keys"), 0o700)
				writeFile(t, filepath.Join(home, "keys"), "api_key", value)
			},
			want: value,
		},
		"file with CRLF": {
			secret: dsl.Secret{Source: dsl.SecretFile, Value: "api_key"},
			setup:  func(t *testing.T, dir string) { writeFile(t, dir, "api_key", value+"\r\n") },
			want:   value,
		},
		"file missing": {
			secret:  dsl.Secret{Source: dsl.SecretFile, Value: "nope"},
			wantErr: "nope does not exist",
		},
		"file is a folder": {
			secret:  dsl.Secret{Source: dsl.SecretFile, Value: "sub"},
			setup:   func(t *testing.T, dir string) { _ = os.Mkdir(filepath.Join(dir, "sub"), 0o700) },
			wantErr: "is not a regular file",
		},
		"file too large": {
			secret:  dsl.Secret{Source: dsl.SecretFile, Value: "big"},
			setup:   func(t *testing.T, dir string) { writeFile(t, dir, "big", strings.Repeat(value, maxSize/len(value)+1)) },
			wantErr: "larger than 1 MiB",
		},
		"dotenv": {
			secret: dsl.Secret{Source: dsl.SecretDotenv, Value: ".env.prod", Key: "TELEGRAM_BOT_TOKEN"},
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, ".env.prod", "# production\nexport DB_HOST=db\nTELEGRAM_BOT_TOKEN=\""+value+"\" # the bot\n\nOTHER='x'\n")
			},
			want: value,
		},
		"dotenv missing key": {
			secret:  dsl.Secret{Source: dsl.SecretDotenv, Value: ".env.prod", Key: "NOPE"},
			setup:   func(t *testing.T, dir string) { writeFile(t, dir, ".env.prod", "TOKEN="+value+"\n") },
			wantErr: ".env.prod has no key NOPE",
		},
		"dotenv invalid, the parser's quote hidden": {
			secret:  dsl.Secret{Source: dsl.SecretDotenv, Value: ".env.prod", Key: "TOKEN"},
			setup:   func(t *testing.T, dir string) { writeFile(t, dir, ".env.prod", "TOKEN=\""+value+"\n") },
			wantErr: ".env.prod is not a valid dotenv file",
		},
		"dotenv missing file": {
			secret:  dsl.Secret{Source: dsl.SecretDotenv, Value: ".env.none", Key: "TOKEN"},
			wantErr: ".env.none does not exist",
		},
		"command": {
			secret: dsl.Secret{Source: dsl.SecretCommand, Command: []string{"printf", "%s\n", value}},
			want:   value,
		},
		"command runs in the project folder": {
			secret: dsl.Secret{Source: dsl.SecretCommand, Command: []string{"sh", "-c", "cat token"}},
			setup:  func(t *testing.T, dir string) { writeFile(t, dir, "token", value) },
			want:   value,
		},
		"command fails": {
			secret:  dsl.Secret{Source: dsl.SecretCommand, Command: []string{"sh", "-c", "printf '" + value + "'; echo first >&2; echo 'Error: zakupai/openai is not in the password store.' >&2; exit 3"}},
			wantErr: `command "sh" exited 3: Error: zakupai/openai is not in the password store.`,
		},
		"command echoing its output to stderr is masked": {
			secret:  dsl.Secret{Source: dsl.SecretCommand, Command: []string{"sh", "-c", "echo " + value + "; echo bad " + value + " >&2; exit 1"}},
			wantErr: `command "sh" exited 1: bad (sensitive)`,
		},
		"command not found": {
			secret:  dsl.Secret{Source: dsl.SecretCommand, Command: []string{"zrun-surely-no-such-program"}},
			wantErr: `"zrun-surely-no-such-program" not found`,
		},
		"command prints nothing": {
			secret:  dsl.Secret{Source: dsl.SecretCommand, Command: []string{"echo"}},
			wantErr: "is empty",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			resolveOne(t, dir, secretAt("s", tc.secret), tc.want, tc.wantErr)
		})
	}
}

// resolveOne resolves s alone and checks the result: the value want,
// marked sensitive, or one diagnostic whose detail contains wantErr.
func resolveOne(t *testing.T, dir string, s *dsl.Secret, want, wantErr string) {
	t.Helper()
	secrets := map[string]*dsl.Secret{s.Name: s}
	got, diags := Resolve(t.Context(), dir, secrets, []string{s.Name})
	checkDiags(t, diags, secrets)
	if wantErr != "" {
		if len(diags) != 1 || diags[0].Summary != "Secret not available" || !strings.Contains(diags[0].Detail, wantErr) {
			t.Fatalf("want one diagnostic containing %q, got %s", wantErr, diags)
		}
		if len(got) != 0 {
			t.Errorf("values for a failed secret: %d", len(got))
		}
		return
	}
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %s", diags)
	}
	if want := cty.StringVal(want).Mark(sdk.Sensitive); !got[s.Name].RawEquals(want) {
		t.Errorf("got %#v, want %#v", got[s.Name], want)
	}
}

func TestResolveMany(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ZRUN_TEST_A", "a")
	// Each command takes 400ms: one after the other they would take 2s.
	slow := func(v string) dsl.Secret {
		return dsl.Secret{Source: dsl.SecretCommand, Command: []string{"sh", "-c", "sleep 0.4; echo " + v}}
	}
	secrets := map[string]*dsl.Secret{
		"a":     secretAt("a", dsl.Secret{Source: dsl.SecretEnv, Value: "ZRUN_TEST_A"}),
		"bb":    secretAt("bb", dsl.Secret{Source: dsl.SecretEnv, Value: "ZRUN_TEST_SURELY_UNSET"}),
		"c1":    secretAt("c1", slow("1")),
		"c2":    secretAt("c2", slow("2")),
		"c3":    secretAt("c3", slow("3")),
		"c4":    secretAt("c4", slow("4")),
		"c5":    secretAt("c5", slow("5")),
		"extra": secretAt("extra", dsl.Secret{Source: dsl.SecretEnv, Value: "ZRUN_TEST_SURELY_UNSET"}),
	}
	start := time.Now()
	got, diags := Resolve(t.Context(), dir, secrets, []string{"c1", "zz", "c2", "c3", "c4", "c5", "bb", "a"})
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("took %s: the secrets were not read concurrently", elapsed)
	}
	var gotNames []string
	for n, v := range got {
		if !v.HasMark(sdk.Sensitive) {
			t.Errorf("%s not marked sensitive", n)
		}
		gotNames = append(gotNames, n)
	}
	if diff := cmp.Diff([]string{"a", "c1", "c2", "c3", "c4", "c5"}, gotNames, cmpSorted); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	// In the order asked: zz (undeclared, no block to point at), then bb.
	if len(diags) != 2 || diags[0].Subject != nil || !strings.Contains(diags[0].Detail, `no secret "zz"`) ||
		diags[1].Subject == nil || *diags[1].Subject != secrets["bb"].DeclRange {
		t.Errorf("diagnostics: %s", diags)
	}
}

func TestResolveCommandCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	secrets := map[string]*dsl.Secret{"s": secretAt("s", dsl.Secret{
		Source: dsl.SecretCommand,
		// The child sleep holds stdout open: the whole group must die.
		Command: []string{"sh", "-c", "sleep 30; echo late"},
	})}
	start := time.Now()
	_, diags := Resolve(ctx, t.TempDir(), secrets, []string{"s"})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("a cancelled command took %s", elapsed)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, `command "sh" was cancelled`) {
		t.Errorf("diagnostics: %s", diags)
	}
}

func TestResolveCommandTimeout(t *testing.T) {
	defer func(d time.Duration) { commandTimeout = d }(commandTimeout)
	commandTimeout = 100 * time.Millisecond
	secrets := map[string]*dsl.Secret{"s": secretAt("s", dsl.Secret{Source: dsl.SecretCommand, Command: []string{"sleep", "30"}})}
	_, diags := Resolve(t.Context(), t.TempDir(), secrets, []string{"s"})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, `command "sleep" did not finish within 100ms`) {
		t.Errorf("diagnostics: %s", diags)
	}
}

func TestCapped(t *testing.T) {
	tests := map[string]struct {
		keepTail bool
		writes   []string
		want     string
		wantOver bool
	}{
		"under":     {writes: []string{"ab", "c"}, want: "abc"},
		"head":      {writes: []string{"abc", "def"}, want: "abcd", wantOver: true},
		"tail":      {keepTail: true, writes: []string{"abc", "def"}, want: "cdef"},
		"full then": {writes: []string{"abcd", "e"}, want: "abcd", wantOver: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := &capped{max: 4, keepTail: tc.keepTail}
			for _, w := range tc.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if c.buf.String() != tc.want || c.over != tc.wantOver {
				t.Errorf("got %q over=%v, want %q over=%v", c.buf.String(), c.over, tc.want, tc.wantOver)
			}
		})
	}
}
