package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/engine/state"
)

func (a *app) ledgerCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ledger",
		Short: "Check the run ledger, or salvage a damaged one",
		Args:  exactArgs(0, "a subcommand: check or salvage"),
		RunE: func(c *cobra.Command, _ []string) error {
			return &exitError{code: exitUsage, msg: "zrun ledger needs a subcommand: check or salvage.\nRun 'zrun ledger --help' for usage."}
		},
	}
	c.AddCommand(a.ledgerCheckCmd(), a.ledgerSalvageCmd())
	return c
}

func (a *app) ledgerCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Read every record of the ledger and check its structure",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withLedger(c, func(s state.Store) error {
				ck, ok := s.(state.Checker)
				if !ok {
					return &exitError{code: exitUsage, msg: "zrun ledger check reads the embedded ledger file; a PostgreSQL ledger is checked by PostgreSQL itself (amcheck)"}
				}
				err := ck.Check(ctxOf(c))
				var de *state.DamageError
				if errors.As(err, &de) {
					fmt.Fprintf(a.stdout, "The ledger %s is damaged:\n", de.Where)
					for _, p := range de.Problems {
						fmt.Fprintf(a.stdout, "  %s\n", p)
					}
					return &exitError{code: exitFailure, msg: "`zrun ledger salvage` copies every readable record into a new ledger file and keeps the damaged one aside."}
				}
				if err != nil {
					return &exitError{code: exitFailure, msg: err.Error()}
				}
				fmt.Fprintln(a.stdout, "The ledger is sound.")
				return nil
			})
		},
	}
}

func (a *app) ledgerSalvageCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "salvage",
		Short: "Copy every readable record of a damaged ledger into a new one, keeping the damaged file aside",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withLedger(c, func(s state.Store) error {
				sv, ok := s.(state.Salvager)
				ck, _ := s.(state.Checker)
				if !ok || ck == nil {
					return &exitError{code: exitUsage, msg: "zrun ledger salvage repairs the embedded ledger file; a PostgreSQL ledger is repaired with PostgreSQL's own tools"}
				}
				if !force {
					if err := ck.Check(ctxOf(c)); err == nil {
						fmt.Fprintln(a.stdout, "The ledger is sound: nothing to salvage (--force salvages it anyway).")
						return nil
					}
				}
				rep, err := sv.Salvage(ctxOf(c))
				if err != nil {
					return &exitError{code: exitFailure, msg: "salvaging the ledger: " + err.Error()}
				}
				if rep == nil {
					fmt.Fprintln(a.stdout, "Another zrun salvaged the ledger meanwhile.")
					return nil
				}
				fmt.Fprintf(a.stdout, "Salvaged the ledger %s: kept %s.\n", rep.New, salvageCounts(rep))
				if len(rep.Problems) > 0 {
					fmt.Fprintf(a.stdout, "Unreadable: %s.\n", strings.Join(rep.Problems, "; "))
				}
				fmt.Fprintf(a.stdout, "The damaged file is kept as %s.\n", rep.Damaged)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&force, "force", false, "salvage even a ledger that checks sound")
	return c
}
