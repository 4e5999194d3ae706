//go:build compose

// The compose importer links compose-go, whose JSON Schema library costs
// 15 ms of package init at every start: zrun itself is built without it
// (every builtin plugin process is zrun, and pays its start), and runs
// `zrun import compose` through zrun-compose, the same CLI built with
// -tags compose (cmd_import_exec.go).

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl/compose"
)

func (a *app) importCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "import",
		Short: "Write zrun HCL from another tool's configuration",
	}
	c.AddCommand(a.importComposeCmd())
	return c
}

func (a *app) importComposeCmd() *cobra.Command {
	var (
		files, envs, profiles, envFiles, extends []string
		out, workflow                            string
		force                                    bool
	)
	c := &cobra.Command{
		Use:   "compose --env ENV=OVERRIDE.yml... [-f FILE]... [flags]",
		Short: "Write a workflow of docker.container steps and environment blocks from Docker Compose files",
		Long: `Reads the compose files of each environment as docker compose does
(compose-go: overrides, profiles, env files, interpolation) and writes
workflows/containers.hcl, one docker.container step per service, and
environments/ENV.hcl, what differs between the environments. Values that look
like secrets (PASSWORD, TOKEN, SECRET, KEY in the name) are never written:
they are read at run time through secret blocks. What compose has and zrun
cannot express is reported. See docs/compose-import.md.

  zrun import compose -f docker-compose.yml \
    --env dev=docker-compose.override.dev.yml --env-file dev=.env.dev --profile dev=dev \
    --env stage=docker-compose.override.stage.yml --env-file stage=.env.stage --profile stage=stage \
    --env prod=docker-compose.override.prod.yml --env-file prod=.env.prod --profile prod=prod`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			opts, err := composeOptions(files, envs, profiles, envFiles, extends)
			if err != nil {
				return &exitError{code: exitUsage, msg: err.Error() + "\nRun 'zrun import compose --help' for usage."}
			}
			if out == "" {
				out = a.dir
			}
			opts.Out, opts.Workflow, opts.Environ = out, workflow, os.Environ()
			res, diags := compose.Convert(ctxOf(c), opts)
			a.printDiagFiles(yamlSources(diags), diags)
			if diags.HasErrors() {
				return &exitError{code: exitConfig}
			}
			return a.writeImport(res, out, force)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&files, "file", "f", nil, "a base compose file (repeatable, in order; default: compose's own discovery)")
	f.StringArrayVar(&envs, "env", nil, "ENV=FILE[,FILE...]: an environment and its override files (repeatable, in order)")
	f.StringArrayVar(&profiles, "profile", nil, "[ENV=]NAME: a compose profile of ENV, or of every environment (repeatable)")
	f.StringArrayVar(&envFiles, "env-file", nil, "ENV=FILE: the file that is the project's .env in ENV (compose's --env-file, and env_file: .env)")
	f.StringArrayVar(&extends, "extends", nil, "ENV=PARENT: the environment ENV extends (default: the one given before it; ENV= for none)")
	f.StringVar(&out, "out", "", "the zrun project folder to write into (default: the project folder, -C)")
	f.StringVar(&workflow, "workflow", "containers", "the name of the workflow written")
	f.BoolVar(&force, "force", false, "overwrite files that exist")
	return c
}

// composeOptions reads the flags of `zrun import compose`.
func composeOptions(files, envs, profiles, envFiles, extends []string) (compose.Options, error) {
	opts := compose.Options{Files: files}
	index := map[string]int{}
	for i, spec := range envs {
		name, list, ok := strings.Cut(spec, "=")
		if !ok || name == "" {
			return opts, fmt.Errorf("--env %q: want ENV=FILE[,FILE...], e.g. --env dev=docker-compose.override.dev.yml", spec)
		}
		if _, dup := index[name]; dup {
			return opts, fmt.Errorf("--env %s is given twice", name)
		}
		index[name] = i
		env := compose.Env{Name: name}
		for _, f := range strings.Split(list, ",") {
			if f = strings.TrimSpace(f); f != "" {
				env.Files = append(env.Files, f)
			}
		}
		if i > 0 {
			env.Extends = opts.Envs[i-1].Name
		}
		opts.Envs = append(opts.Envs, env)
	}
	if len(opts.Envs) == 0 {
		return opts, errors.New("name at least one environment: --env dev=docker-compose.override.dev.yml")
	}
	lookup := func(flag, spec string, needEnv bool) (*compose.Env, string, error) {
		name, val, ok := strings.Cut(spec, "=")
		if !ok {
			if needEnv {
				return nil, "", fmt.Errorf("--%s %q: want ENV=VALUE", flag, spec)
			}
			return nil, spec, nil
		}
		i, found := index[name]
		if !found {
			return nil, "", fmt.Errorf("--%s %q: there is no --env %s", flag, spec, name)
		}
		return &opts.Envs[i], val, nil
	}
	for _, spec := range profiles {
		env, p, err := lookup("profile", spec, false)
		if err != nil {
			return opts, err
		}
		for i := range opts.Envs {
			if env == nil || env == &opts.Envs[i] {
				opts.Envs[i].Profiles = append(opts.Envs[i].Profiles, p)
			}
		}
	}
	for _, spec := range envFiles {
		env, f, err := lookup("env-file", spec, true)
		if err != nil {
			return opts, err
		}
		env.EnvFile = f
	}
	for _, spec := range extends {
		env, parent, err := lookup("extends", spec, true)
		if err != nil {
			return opts, err
		}
		env.Extends = parent
	}
	return opts, nil
}

// yamlSources reads the compose files the diagnostics point at, for their
// source snippets.
func yamlSources(diags hcl.Diagnostics) map[string]*hcl.File {
	files := map[string]*hcl.File{}
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		if _, ok := files[d.Subject.Filename]; !ok {
			if src, err := os.ReadFile(d.Subject.Filename); err == nil {
				files[d.Subject.Filename] = &hcl.File{Bytes: src}
			}
		}
	}
	return files
}

// writeImport writes the import's files into out, none if any exists
// (unless force), and says what it wrote and which secrets it left out.
func (a *app) writeImport(res *compose.Result, out string, force bool) error {
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(res.Files))
	for n := range res.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	if !force {
		var exist []string
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(out, n)); !errors.Is(err, fs.ErrNotExist) {
				exist = append(exist, n)
			}
		}
		if len(exist) > 0 {
			return &exitError{code: exitUsage, msg: fmt.Sprintf(
				"%s already exist(s) in %s: nothing was written. Import into another folder with --out DIR and merge by hand (each environment block's containers and env_files values and secret blocks), or replace them with --force.",
				strings.Join(exist, ", "), out)}
		}
	}
	for _, n := range names {
		path := filepath.Join(out, n)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, res.Files[n], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Wrote %s\n", n)
	}
	envs := make([]string, 0, len(res.Secrets))
	for e := range res.Secrets {
		envs = append(envs, e)
	}
	sort.Strings(envs)
	if len(envs) > 0 {
		fmt.Fprintln(a.stdout, "\nValues that look like secrets are not written into the HCL; zrun reads them when a run needs them:")
	}
	for _, e := range envs {
		for _, s := range res.Secrets[e] {
			from := "the environment variable " + s.Source.Env
			if s.Source.Env == "" {
				rel, err := filepath.Rel(out, s.Source.Dotenv)
				if err != nil {
					rel = s.Source.Dotenv
				}
				from = fmt.Sprintf("%s, key %s", rel, s.Source.Key)
			}
			fmt.Fprintf(a.stdout, "  %s: secret.%s from %s\n", e, s.Name, from)
		}
	}
	fmt.Fprintf(a.stdout, "\nWritten into %s. Check it with zrun validate, and try it with zrun plan %s --env ENV.\n", out, res.Workflow)
	return nil
}
