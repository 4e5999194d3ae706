package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/engine/targets"
)

// hostsCmd is `zrun hosts`: an environment's SSH hosts, listed, checked
// (host key, authentication, uname, sudo) and trusted.
func (a *app) hostsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "hosts",
		Short: "List, check and trust an environment's SSH hosts",
	}
	var env string
	envFlag := func(c *cobra.Command) *cobra.Command {
		c.Flags().StringVarP(&env, "env", "e", os.Getenv("ZRUN_ENV"), "environment whose hosts these are (default $ZRUN_ENV; optional when the project has at most one)")
		return c
	}
	var yes bool
	trust := envFlag(&cobra.Command{
		Use:   "trust NAME",
		Short: "Add a host's key to its known_hosts file, after showing its fingerprint",
		Long: `Connects to the host without logging in, shows the key it offers, asks
whether to trust it (as ssh does on a first connection) and appends it to the
host's known_hosts_file (default ~/.ssh/known_hosts). Compare the fingerprint
with one obtained from the host itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).`,
		Args: exactArgs(1, "the host's name"),
		RunE: func(c *cobra.Command, args []string) error { return a.hostsTrust(ctxOf(c), env, args[0], yes) },
	})
	trust.Flags().BoolVar(&yes, "yes", false, "trust the key without asking (only once its fingerprint was checked another way)")
	c.AddCommand(
		envFlag(&cobra.Command{
			Use:   "list",
			Short: "List the environment's hosts: address, user, groups, authentication",
			Args:  exactArgs(0, "no arguments"),
			RunE:  func(c *cobra.Command, _ []string) error { return a.hostsList(ctxOf(c), env) },
		}),
		envFlag(&cobra.Command{
			Use:   "check [NAME...]",
			Short: "Connect to each host at once: host key, authentication, uname, sudo",
			RunE:  func(c *cobra.Command, args []string) error { return a.hostsCheck(ctxOf(c), env, args) },
		}),
		trust,
	)
	return c
}

// hostConfigs resolves the environment's hosts, those named (all when
// none is), sorted by name.
func (a *app) hostConfigs(ctx context.Context, env string, names []string) (string, []*targets.Config, error) {
	r, err := a.runner(nil, 0)
	if err != nil {
		return "", nil, err
	}
	e, diags := r.ResolveEnv(env)
	if diags.HasErrors() {
		return "", nil, a.diagError(r.Config(), diags)
	}
	hosts, diags := r.HostConfigs(ctx, e)
	if diags.HasErrors() {
		return "", nil, a.diagError(r.Config(), diags)
	}
	a.printDiags(r.Config(), diags)
	if len(names) == 0 {
		return e.Name, hosts, nil
	}
	var picked []*targets.Config
	for _, name := range names {
		i := slices.IndexFunc(hosts, func(h *targets.Config) bool { return h.Name == name })
		if i < 0 {
			var all []string
			for _, h := range hosts {
				all = append(all, h.Name)
			}
			return "", nil, &exitError{code: exitUsage, msg: fmt.Sprintf("Environment %q has no host %q; its hosts are: %s.", e.Name, name, orNone(all))}
		}
		picked = append(picked, hosts[i])
	}
	return e.Name, picked, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (a *app) hostsList(ctx context.Context, env string) error {
	envName, hosts, err := a.hostConfigs(ctx, env, nil)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		fmt.Fprintf(a.stdout, "Environment %q has no hosts.\n", envName)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tPORT\tUSER\tGROUPS\tAUTH")
	for _, h := range hosts {
		user := h.User
		if user == "" {
			user = "(local user)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", h.Name, h.Address, portOf(h), user, strings.Join(h.Groups, ","), authOf(h))
	}
	return tw.Flush()
}

// authOf says how a host is reached: key file, agent, jump host, sudo.
func authOf(h *targets.Config) string {
	var ways []string
	if h.PrivateKeyFile != "" {
		key := "key " + h.PrivateKeyFile
		if h.Passphrase != "" {
			key += " (passphrase)"
		}
		ways = append(ways, key)
	}
	if h.Agent {
		ways = append(ways, "agent")
	}
	s := strings.Join(ways, " + ")
	if s == "" {
		s = "none"
	}
	if h.Jump != nil {
		s += ", via " + h.Jump.Name
	}
	if h.Sudo {
		s += ", sudo"
	}
	return s
}

func (a *app) hostsCheck(ctx context.Context, env string, names []string) error {
	envName, hosts, err := a.hostConfigs(ctx, env, names)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		fmt.Fprintf(a.stdout, "Environment %q has no hosts.\n", envName)
		return nil
	}
	results := make([]*targets.CheckResult, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = targets.Check(ctx, h)
		}()
	}
	wg.Wait()
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	failed := 0
	for i, h := range hosts {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(tw, "%s\tFAILED\t%s\n", h.Name, inEnv(errs[i], envName))
			continue
		}
		r := results[i]
		sudo := "sudo: yes"
		if !r.Sudo {
			sudo = "sudo: no (" + firstLine(r.SudoError) + ")"
		}
		fmt.Fprintf(tw, "%s\tok\t%s\t%s\t%s\n", h.Name, r.Fingerprint, r.Uname, sudo)
	}
	tw.Flush()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return &exitError{code: exitFailure, msg: fmt.Sprintf("%d of %d hosts failed the check.", failed, len(hosts))}
	}
	return nil
}

// inEnv fills the environment into a host key error's trust command.
func inEnv(err error, env string) error {
	var he *targets.HostKeyError
	if errors.As(err, &he) {
		he.Env = env
	}
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func (a *app) hostsTrust(ctx context.Context, env, name string, yes bool) error {
	envName, hosts, err := a.hostConfigs(ctx, env, []string{name})
	if err != nil {
		return err
	}
	h := hosts[0]
	if h.HostKey != "" {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("Host %q pins its key with host_key: known_hosts is not read for it. Change host_key in the host block instead.", name)}
	}
	if !yes && !isatty.IsTerminal(os.Stdin.Fd()) && !isatty.IsCygwinTerminal(os.Stdin.Fd()) {
		return &exitError{code: exitUsage, msg: "zrun hosts trust asks before trusting a key, and standard input is not a terminal. Check the fingerprint another way, then give --yes."}
	}
	key, err := targets.Scan(ctx, h)
	if err != nil {
		return inEnv(err, envName)
	}
	var he *targets.HostKeyError
	switch {
	case key.Refused == nil:
		fmt.Fprintf(a.stdout, "The key of host %s (%s) is already trusted.\n", name, key.Fingerprint)
		return nil
	case !errors.As(key.Refused, &he):
		return key.Refused
	case he.Changed:
		// A changed key is never replaced from here: the old line must be
		// removed by hand, once the change is understood.
		return inEnv(key.Refused, envName)
	}
	fmt.Fprintf(a.stderr, "Host %s (%s:%d) offers the host key\n  %s\n  %s\n", name, h.Address, portOf(h), key.Fingerprint, key.Line)
	if !yes {
		fmt.Fprint(a.stderr, "Are you sure you want to trust it (yes/no)? ")
		answer, err := readAnswer(ctx, os.Stdin)
		if err != nil {
			fmt.Fprintln(a.stderr)
			return &exitError{code: exitNotConfirmed, msg: err.Error()}
		}
		if answer != "yes" {
			return &exitError{code: exitNotConfirmed, msg: "Cancelled: the key was not trusted (type yes to trust it)."}
		}
	}
	if err := targets.Trust(h, key); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Trusted %s for host %s.\n", key.Fingerprint, name)
	return nil
}

func portOf(h *targets.Config) int {
	if h.Port == 0 {
		return 22
	}
	return h.Port
}
