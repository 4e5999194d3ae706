package compose

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/sirupsen/logrus"
)

// Options say what to import.
type Options struct {
	// Files are the base compose files, in order (compose's -f), relative
	// to the working folder. None means compose's own discovery
	// (COMPOSE_FILE, else compose.yaml or docker-compose.yml and its
	// docker-compose.override.yml, here or above).
	Files []string
	// Envs are the environments, each the base files plus its own.
	Envs []Env
	// Out is the zrun project folder the HCL is written for: the secret
	// blocks' dotenv paths are relative to it.
	Out string
	// Environ is the process environment compose interpolates from, as
	// os.Environ() gives it; it wins over the .env file, as in compose.
	Environ []string
	// Workflow names the workflow written; default "containers".
	Workflow string
}

// Env is one environment of the import.
type Env struct {
	Name string
	// Files are the environment's override files, applied after
	// Options.Files (compose's further -f flags).
	Files []string
	// Profiles are compose's --profile flags; none means COMPOSE_PROFILES.
	Profiles []string
	// EnvFile stands for the project's .env in this environment, as the
	// guide's `cp .env.dev .env` makes it: compose interpolates from it
	// (compose's --env-file) and a service's `env_file: .env` reads it.
	// Empty means the project's own .env, if any.
	EnvFile string
	// Extends names the environment this one is written to extend;
	// empty means none.
	Extends string
}

// envProject is one environment's compose project as compose-go loads
// it, with the environment of every service resolved, enabled or not.
type envProject struct {
	env Env
	// project holds every service, those its profiles disable too.
	project *types.Project
	active  map[string]bool
	// rawEnv is each service's `environment:` before interpolation: what
	// a value was written as tells where a secret comes from.
	rawEnv map[string]types.MappingWithEquals
	// declared is each service's environment from `environment:` only,
	// interpolated, before env files are merged in.
	declared map[string]types.MappingWithEquals
	// envFiles are each service's env files as declared (before .env is
	// replaced by env.EnvFile), for the import to share their contents.
	envFiles map[string][]types.EnvFile
	// dotenv is the file standing for .env, "" if there is none.
	dotenv string
	// process holds the names of the process environment's variables.
	process map[string]bool
	// files are the compose files read, in order.
	files []string
}

// logMu serialises the loads: compose-go warns through logrus's global
// logger, which a load borrows to collect the warnings.
var logMu sync.Mutex

// load reads one environment's compose files as docker compose does.
func load(ctx context.Context, opts Options, env Env) (*envProject, []string, hcl.Diagnostics) {
	var warnings logCollector
	defer logTo(&warnings)()

	po, err := projectOptions(opts, env)
	if err != nil {
		return nil, warnings.lines, composeDiags(err, po)
	}
	truth, err := po.LoadProject(ctx)
	if err != nil {
		return nil, warnings.lines, composeDiags(err, po)
	}
	ep := &envProject{env: env, active: map[string]bool{}, process: map[string]bool{}, files: po.ConfigPaths,
		rawEnv: map[string]types.MappingWithEquals{}, declared: map[string]types.MappingWithEquals{}, envFiles: map[string][]types.EnvFile{}}
	for _, kv := range opts.Environ {
		if k, _, ok := strings.Cut(kv, "="); ok {
			ep.process[k] = true
		}
	}
	if len(po.EnvFiles) > 0 {
		ep.dotenv = po.EnvFiles[len(po.EnvFiles)-1]
	}
	all := types.Services{}
	for name, s := range truth.Services {
		ep.active[name] = true
		all[name] = s
	}
	maps.Copy(all, truth.DisabledServices)
	for name, s := range all {
		ep.declared[name] = s.Environment
		ep.envFiles[name] = slices.Clone(s.EnvFiles)
		s.EnvFiles = slices.Clone(s.EnvFiles)
		for i, f := range s.EnvFiles {
			if env.EnvFile != "" && f.Path == filepath.Join(truth.WorkingDir, ".env") {
				s.EnvFiles[i].Path = ep.dotenv
			}
		}
		all[name] = s
	}
	truth.Services, truth.DisabledServices = all, nil
	resolved, err := truth.WithServicesEnvironmentResolved(false)
	if err != nil {
		return nil, warnings.lines, composeDiags(err, po)
	}
	ep.project = resolved

	raw, err := loadRaw(ctx, po, truth)
	if err != nil {
		return nil, warnings.lines, composeDiags(err, po)
	}
	for name, s := range raw.AllServices() {
		ep.rawEnv[name] = s.Environment
	}
	return ep, warnings.lines, nil
}

// projectOptions are compose's own (docker/compose's ToProjectOptions),
// with the process environment given rather than read.
func projectOptions(opts Options, env Env) (*cli.ProjectOptions, error) {
	var envFiles []string
	if env.EnvFile != "" {
		abs, err := filepath.Abs(env.EnvFile)
		if err != nil {
			return nil, err
		}
		envFiles = []string{abs}
	}
	fns := []cli.ProjectOptionsFn{
		cli.WithEnv(opts.Environ),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
	}
	if len(opts.Files) == 0 {
		fns = append(fns, cli.WithConfigFileEnv, cli.WithDefaultConfigPath)
	}
	po, err := cli.NewProjectOptions(slices.Clone(opts.Files), fns...)
	if err != nil {
		return po, err
	}
	po.ConfigPaths = append(po.ConfigPaths, env.Files...)
	for i, p := range po.ConfigPaths {
		if po.ConfigPaths[i], err = filepath.Abs(p); err != nil {
			return po, err
		}
	}
	// The .env of the project folder is found once the files are known.
	for _, fn := range []cli.ProjectOptionsFn{
		cli.WithEnvFiles(envFiles...), cli.WithDotEnv,
		cli.WithDefaultProfiles(env.Profiles...),
		cli.WithResolvedPaths(true),
		cli.WithoutEnvironmentResolution,
	} {
		if err := fn(po); err != nil {
			return po, err
		}
	}
	return po, nil
}

// loadRaw loads the same files again without interpolation, for what
// each value was written as.
func loadRaw(ctx context.Context, po *cli.ProjectOptions, truth *types.Project) (*types.Project, error) {
	raw, err := cli.NewProjectOptions(po.ConfigPaths,
		cli.WithName(truth.Name),
		cli.WithInterpolation(false),
		cli.WithProfiles(truth.Profiles),
		cli.WithoutEnvironmentResolution,
		cli.WithConsistency(false),
	)
	if err != nil {
		return nil, err
	}
	return raw.LoadProject(ctx)
}

// logTo sends what compose-go logs to w until the function it returns is
// called.
func logTo(w io.Writer) func() {
	logMu.Lock()
	std := logrus.StandardLogger()
	prevOut, prevFormatter, prevLevel := std.Out, std.Formatter, logrus.GetLevel()
	logrus.SetOutput(w)
	logrus.SetFormatter(messageOnly{})
	logrus.SetLevel(logrus.WarnLevel)
	return func() {
		logrus.SetOutput(prevOut)
		logrus.SetFormatter(prevFormatter)
		logrus.SetLevel(prevLevel)
		logMu.Unlock()
	}
}

// logCollector keeps the lines compose-go logs.
type logCollector struct{ lines []string }

func (c *logCollector) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			c.lines = append(c.lines, line)
		}
	}
	return len(p), nil
}

// messageOnly formats a log entry as its message.
type messageOnly struct{}

func (messageOnly) Format(e *logrus.Entry) ([]byte, error) { return []byte(e.Message + "\n"), nil }

// Interface guards
var (
	_ io.Writer        = (*logCollector)(nil)
	_ logrus.Formatter = messageOnly{}
)

// readFile reads a compose file for a diagnostic's source snippet.
func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return b
}

// relTo returns path relative to dir when it lies below it, else path.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// errorf makes an error diagnostic without a place.
func errorf(summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...)}
}
