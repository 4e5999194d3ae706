package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/state"
)

func (a *app) releasesCmd() *cobra.Command {
	var env, output string
	var limit int
	c := &cobra.Command{
		Use:   "releases",
		Short: "List an environment's releases (successful deploys and rollbacks), newest first",
		Long: "A release is a successful run that put containers in service (docker.container or\n" +
			"docker.rollback steps): who ran it, when, from which git commit, and every container's\n" +
			"exact image. The newest is what runs now.",
		Example: "  zrun releases --env prod",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if env == "" {
				return &exitError{code: exitUsage, msg: "--env is required: the environment whose releases to list"}
			}
			return a.withLedger(c, func(s state.Store) error {
				rels, err := engine.Releases(ctxOf(c), s, env, limit)
				damage, err := readErr(err)
				if err != nil {
					return err
				}
				if output == "json" {
					views := make([]releaseView, len(rels))
					for i, r := range rels {
						views[i] = releaseView{Run: newRunView(r.Run), Services: r.Services, MigrationLevel: r.MigrationLevel}
					}
					return errors.Join(a.writeJSON(views), damage)
				}
				if len(rels) == 0 {
					fmt.Fprintf(a.stdout, "no releases in %s yet (a release is a successful deploy: zrun workflow deploy --env %s)\n", env, env)
					return damage
				}
				return errors.Join(a.printReleases(rels), damage)
			})
		},
	}
	c.Flags().StringVarP(&env, "env", "e", "", "the environment")
	c.Flags().IntVar(&limit, "limit", 50, "look at this many of the newest successful runs")
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}

type releaseView struct {
	Run            runView                  `json:"run"`
	Services       []engine.ReleasedService `json:"services"`
	MigrationLevel *int64                   `json:"migration_level,omitempty"`
}

func (a *app) printReleases(rels []*engine.Release) error {
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	for i, rel := range rels {
		r := rel.Run
		head := fmt.Sprintf("%s\t%s\t%s\tby %s@%s", r.ID, r.Workflow, r.EndedAt.Local().Format(time.DateTime), r.User, r.Host)
		if r.Commit != "" {
			head += "\tcommit " + shortCommit(r.Commit)
		}
		if v, ok := r.Params["version"]; ok {
			head += "\tversion " + v
		}
		if l := rel.MigrationLevel; l != nil {
			head += fmt.Sprintf("\tmigrations %d", *l)
		}
		if to := rel.Restores(); to != "" {
			head += "\tback to " + to
		}
		if i == 0 {
			head += "\t(current)"
		}
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, head)
		for _, s := range rel.Services {
			what := s.Action
			if s.PreviousImageID != "" && s.PreviousImageID != s.ImageID {
				what += " (was " + shortID(s.PreviousImageID) + ")"
			}
			if s.ImageDigest != "" {
				what += "\t" + s.ImageDigest
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, shortID(s.ImageID), what)
		}
	}
	return tw.Flush()
}

// shortID is an image ID as docker prints it: 12 hex digits.
func shortID(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

func shortCommit(c string) string {
	hash, dirty := strings.CutSuffix(c, "-dirty")
	if len(hash) > 12 {
		hash = hash[:12]
	}
	if dirty {
		hash += "-dirty"
	}
	return hash
}
