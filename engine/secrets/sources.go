package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/zrun-dev/zrun/dsl/limits"
	"github.com/zrun-dev/zrun/sdk"
	"github.com/zrun-dev/zrun/sdk/local"
)

// commandTimeout bounds a secret command; a password manager waiting for
// input it will never get must not hang the run. Tests shorten it.
var commandTimeout = 30 * time.Second

// path resolves a path from the configuration: ~/ is the user's home
// folder (as in a host block's key files), a relative path is relative to
// the project folder. A home folder that cannot be known leaves ~/ as it
// is, so that reading the file fails naming it.
func (r *resolver) path(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.dir, p)
}

func readEnv(name string) (string, error) {
	val, ok := os.LookupEnv(name)
	if !ok {
		return "", &problem{
			msg:  fmt.Sprintf("environment variable %s is not set", name),
			hint: "Export it in the shell that runs zrun.",
		}
	}
	return val, nil
}

// readFile returns the content of a regular file, one trailing newline
// trimmed.
func readFile(path string) (string, error) {
	data, err := readRegular(path)
	if err != nil {
		return "", err
	}
	return trimNewline(string(data)), nil
}

// readRegular reads a regular file of at most maxSize bytes. Its errors
// name the path, never the content.
func readRegular(path string) ([]byte, error) {
	data, err := limits.ReadRegular(path, maxSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("file %s does not exist", path)
	}
	return data, err
}

// readDotenv returns key from the dotenv file at p.
func (r *resolver) readDotenv(p, key string) (string, error) {
	vals, err := r.dotenvs.get(r.path(p), func() (map[string]string, error) {
		data, err := readRegular(r.path(p))
		if err != nil {
			return nil, err
		}
		vals, err := godotenv.UnmarshalBytes(data)
		if err != nil {
			// The parser's message quotes the line it stopped at, which
			// may hold a secret: say where to look instead.
			return nil, &problem{
				msg:  fmt.Sprintf("%s is not a valid dotenv file", p),
				hint: "Each line is KEY=value, # comment or blank; values may be quoted. (The parser's own message is not shown: it quotes the file.)",
			}
		}
		return vals, nil
	})
	if err != nil {
		return "", err
	}
	val, ok := vals[key]
	if !ok {
		return "", &problem{msg: fmt.Sprintf("%s has no key %s", p, key)}
	}
	return val, nil
}

// runCommand runs argv without a shell in dir, with commandTimeout, and
// returns its standard output, one trailing newline trimmed. Standard
// input is empty. Its errors hold the program's name, its exit code and
// the last line it wrote to stderr, never its standard output.
func runCommand(ctx context.Context, dir string, argv []string) (string, error) {
	if len(argv) == 0 || argv[0] == "" {
		return "", errors.New("the command is empty")
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	stdout := &capped{max: maxSize}
	stderr := &capped{max: 64 << 10, keepTail: true}
	res, err := local.Target(local.WithGracePeriod(time.Second)).Exec(ctx, &sdk.Command{
		Args:   argv,
		Dir:    dir,
		Stdout: stdout,
		Stderr: stderr,
	})
	out := stdout.buf.String()
	prog := fmt.Sprintf("command %q", argv[0])
	switch {
	case parent.Err() != nil:
		return "", fmt.Errorf("%s was cancelled", prog)
	case ctx.Err() != nil:
		return "", &problem{msg: fmt.Sprintf("%s did not finish within %s", prog, commandTimeout),
			hint: "A secret command must not wait for input: zrun gives it none."}
	case err != nil:
		// Start failures: the program is missing or not executable.
		return "", err
	case res.ExitCode != 0:
		msg := fmt.Sprintf("%s exited %d", prog, res.ExitCode)
		if line := lastLine(stderr.buf.String(), out); line != "" {
			msg += ": " + line
		}
		return "", &problem{msg: msg}
	case stdout.over:
		return "", &problem{msg: fmt.Sprintf("%s printed more than 1 MiB", prog)}
	}
	return trimNewline(out), nil
}

// lastLine returns the last non-blank line of stderr, shortened, with any
// occurrence of the command's output masked: a tool that echoes what it
// read must not leak it into a diagnostic.
func lastLine(stderr, stdout string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	for _, v := range []string{trimNewline(stdout), strings.TrimSpace(stdout)} {
		if v != "" {
			line = strings.ReplaceAll(line, v, "(sensitive)")
		}
	}
	if r := []rune(line); len(r) > 200 {
		line = string(r[:200]) + "…"
	}
	return line
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(s string) string {
	s, ok := strings.CutSuffix(s, "\n")
	if ok {
		s = strings.TrimSuffix(s, "\r")
	}
	return s
}

// capped is an io.Writer that keeps at most max bytes: the first ones, or
// with keepTail the last ones. It never fails, so the command is not
// stopped by a broken pipe.
type capped struct {
	buf      bytes.Buffer
	max      int
	keepTail bool
	over     bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.keepTail {
		c.buf.Write(p)
		if extra := c.buf.Len() - c.max; extra > 0 {
			c.buf.Next(extra)
		}
		return len(p), nil
	}
	if room := c.max - c.buf.Len(); len(p) > room {
		c.over = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}
