package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/zrun-dev/zrun/dsl"
	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/state"
	"github.com/zrun-dev/zrun/engine/state/boltstore"
	"github.com/zrun-dev/zrun/engine/state/pgstore"
)

// ledgerPath is where the embedded ledger lives in a project.
func ledgerPath(cfg *dsl.Config) string { return filepath.Join(cfg.Dir, ".zrun", "ledger.db") }

// openLedger opens the project's ledger: PostgreSQL when zrun.hcl's ledger
// block (or $ZRUN_LEDGER_DSN, which overrides it) names one, the embedded
// file under .zrun/ otherwise.
func (a *app) openLedger(ctx context.Context, cfg *dsl.Config) (state.Store, error) {
	dsn := os.Getenv("ZRUN_LEDGER_DSN")
	if dsn == "" && cfg.Project.Ledger != nil {
		dsn = cfg.Project.Ledger.Postgres
	}
	if dsn != "" {
		s, err := pgstore.Open(ctx, dsn)
		if err != nil {
			return nil, &exitError{code: exitFailure, msg: "opening the PostgreSQL ledger: " + err.Error()}
		}
		return s, nil
	}
	s, err := boltstore.OpenOptions(ledgerPath(cfg), boltstore.Options{OnSalvage: a.salvaged})
	if err != nil {
		return nil, &exitError{code: exitFailure, msg: "opening the ledger: " + err.Error()}
	}
	return s, nil
}

// withLedger loads the project, opens its ledger for fn, and closes it.
func (a *app) withLedger(c *cobra.Command, fn func(s state.Store) error) error {
	cfg, err := a.project()
	if err != nil {
		return err
	}
	s, err := a.openLedger(ctxOf(c), cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func (a *app) runsCmd() *cobra.Command {
	var f state.Filter
	var status, output string
	c := &cobra.Command{
		Use:   "runs",
		Short: "List recorded runs, newest first",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withLedger(c, func(s state.Store) error {
				f.Status = state.Status(status)
				runs, err := s.ListRuns(ctxOf(c), f)
				damage, err := readErr(err)
				if err != nil {
					return err
				}
				if output == "json" {
					views := make([]runView, len(runs))
					for i, r := range runs {
						views[i] = newRunView(r)
					}
					return errors.Join(a.writeJSON(views), damage)
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RUN\tWORKFLOW\tENV\tSTATUS\tSTARTED\tDURATION\tBY")
				for _, r := range runs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s@%s\n", r.ID, r.Workflow, r.Env, r.Status,
						r.StartedAt.Local().Format("2006-01-02 15:04:05"), runDuration(r), r.User, r.Host)
				}
				return errors.Join(tw.Flush(), damage)
			})
		},
	}
	c.Flags().StringVar(&f.Workflow, "workflow", "", "only runs of this workflow")
	c.Flags().StringVar(&f.Env, "env", "", "only runs in this environment")
	c.Flags().StringVar(&status, "status", "", "only runs with this status (running, ok, failed, cancelled, abandoned)")
	c.Flags().IntVar(&f.Limit, "limit", 50, "at most this many runs")
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}

// runView and stepView show recorded outputs as the JSON they are.
type runView struct {
	*state.Run
	Outputs json.RawMessage `json:"outputs,omitempty"`
}

type stepView struct {
	*state.Step
	Outputs json.RawMessage `json:"outputs,omitempty"`
}

func newRunView(r *state.Run) runView { return runView{Run: r, Outputs: rawJSON(r.Outputs)} }

// rawJSON passes valid JSON through and drops anything else.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return b
}

func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runDuration(r *state.Run) string {
	if r.EndedAt.IsZero() {
		return "-"
	}
	return r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func (a *app) showCmd() *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a recorded run: who, what, params, every step attempt and outputs",
		Args:  exactArgs(1, "a run id (see zrun runs)"),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withLedger(c, func(s state.Store) error {
				r, damage, err := getRun(c, s, args[0])
				if err != nil {
					return err
				}
				steps, err := s.Steps(ctxOf(c), r.ID)
				stepsDamage, err := readErr(err)
				if err != nil {
					return err
				}
				damage = cmp.Or(damage, stepsDamage)
				if output == "json" {
					views := make([]stepView, len(steps))
					for i, st := range steps {
						views[i] = stepView{Step: st, Outputs: rawJSON(st.Outputs)}
					}
					return errors.Join(a.writeJSON(struct {
						Run   runView    `json:"run"`
						Steps []stepView `json:"steps"`
					}{newRunView(r), views}), damage)
				}
				a.printRun(r, steps)
				return damage
			})
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}

// getRun reads run id; a damaged ledger that still holds it gives it with
// the damage error to return once it is shown.
func getRun(c *cobra.Command, s state.Store, id string) (r *state.Run, damage, err error) {
	r, err = s.GetRun(ctxOf(c), id)
	if errors.Is(err, state.ErrNotFound) {
		msg := fmt.Sprintf("no run %q in the ledger; `zrun runs` lists them", id)
		if _, damage := readErr(err); damage != nil {
			msg += "\n" + damage.Error()
		}
		return nil, nil, &exitError{code: exitUsage, msg: msg}
	}
	damage, err = readErr(err)
	return r, damage, err
}

// readErr sorts a read's error: damage (whatever could be read was
// returned with it: show it, then fail with this), or any other failure.
func readErr(err error) (damage, failure error) {
	var de *state.DamageError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &de):
		return damageError(de), nil
	case errors.Is(err, state.ErrDamaged):
		return damageError(&state.DamageError{Problems: []string{err.Error()}}), nil
	}
	return nil, &exitError{code: exitFailure, msg: err.Error()}
}

// damageError says what is damaged and what to do.
func damageError(de *state.DamageError) error {
	return &exitError{code: exitFailure, msg: de.Error() + ".\nWhat could still be read is shown above. `zrun ledger check` lists every problem; " +
		"`zrun ledger salvage` copies every readable record into a new ledger file and keeps the damaged one aside (the next run does it too, if it meets the damage)."}
}

// salvaged tells that a write found the ledger damaged and salvaged it.
func (a *app) salvaged(rep *state.SalvageReport) {
	fmt.Fprintf(a.stderr, "warning: the ledger %s was damaged (%s). It is kept aside as %s; a new ledger holds what could be read: %s.\n",
		rep.New, strings.Join(rep.Problems[:min(len(rep.Problems), 3)], "; "), rep.Damaged, salvageCounts(rep))
}

func salvageCounts(rep *state.SalvageReport) string {
	msg := fmt.Sprintf("%d runs, %d step attempts, %d log lines, %d locks", rep.Runs, rep.Steps, rep.Logs, rep.Locks)
	if rep.StandIns > 0 {
		msg += fmt.Sprintf(" (%d of them under a stand-in, status abandoned: their own record was lost, their steps and output were not)", rep.StandIns)
	}
	return msg
}

func (a *app) printRun(r *state.Run, steps []*state.Step) {
	w := a.stdout
	fmt.Fprintf(w, "run %s: workflow %s in %s, %s\n", r.ID, r.Workflow, r.Env, r.Status)
	fmt.Fprintf(w, "  by %s@%s (pid %d), started %s, took %s\n", r.User, r.Host, r.PID, r.StartedAt.Local().Format(time.RFC3339), runDuration(r))
	if r.ResumeOf != "" {
		fmt.Fprintf(w, "  resumes run %s\n", r.ResumeOf)
	}
	if r.ConfirmedBy != "" {
		fmt.Fprintf(w, "  confirmed by %s\n", r.ConfirmedBy)
	}
	fmt.Fprintf(w, "  project files %s\n", r.ConfigHash)
	if r.Commit != "" {
		fmt.Fprintf(w, "  git commit %s\n", r.Commit)
	}
	for _, k := range sortedKeys(r.Params) {
		fmt.Fprintf(w, "  param.%s = %s\n", k, r.Params[k])
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", indentLines(r.Error, "    "))
	}
	fmt.Fprintln(w, "\nsteps:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	var long []*state.Step
	for _, st := range steps {
		d := "-"
		if !st.EndedAt.IsZero() {
			d = st.EndedAt.Sub(st.StartedAt).Round(time.Millisecond).String()
		}
		first, rest, more := strings.Cut(st.Error, "\n")
		if more && strings.TrimSpace(rest) != "" {
			long = append(long, st)
			first += " (more below)"
		}
		fmt.Fprintf(tw, "  %s\t%s\tattempt %d\t%s\t%s\t%s\n", st.Addr, st.Action, st.Attempt, st.Status, d, strings.ReplaceAll(first, "\t", " "))
	}
	tw.Flush()
	// An error of several lines would break the table: its first line is
	// in it, the whole error here.
	for _, st := range long {
		fmt.Fprintf(w, "\n%s, attempt %d:\n    %s\n", st.Addr, st.Attempt, indentLines(strings.TrimRight(st.Error, "\n"), "    "))
	}
	if len(r.Outputs) > 0 && string(r.Outputs) != "null" && string(r.Outputs) != "{}" {
		fmt.Fprintf(w, "\noutputs: %s\n", r.Outputs)
	}
}

// indentLines puts indent before every line of s but the first.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}

func (a *app) logsCmd() *cobra.Command {
	var follow bool
	c := &cobra.Command{
		Use:   "logs RUN [STEP]",
		Short: "Print a recorded run's output, of every step or one (step.name); --follow a running one",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &exitError{code: exitUsage, msg: "zrun logs needs a run id and optionally a step address.\nUsage: " + c.UseLine()}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.withLedger(c, func(s state.Store) error {
				if _, _, err := getRun(c, s, args[0]); err != nil {
					return err
				}
				step := ""
				if len(args) == 2 {
					step = args[1]
					if err := knownStep(c, s, args[0], step); err != nil {
						return err
					}
				}
				return a.printLogs(c, s, args[0], step, follow)
			})
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the run ends")
	return c
}

// knownStep fails unless run runID has a step (instance) at addr, naming
// the closest one or all of them.
func knownStep(c *cobra.Command, s state.Store, runID, addr string) error {
	steps, err := s.Steps(ctxOf(c), runID)
	damage, err := readErr(err)
	if err != nil {
		return err
	}
	var have []string
	for _, st := range steps {
		if st.Addr == addr {
			return nil
		}
		if !slices.Contains(have, st.Addr) {
			have = append(have, st.Addr)
		}
	}
	msg := fmt.Sprintf("run %s has no step %s. %s", runID, addr, suggestStep(addr, have))
	if damage != nil {
		msg += "\n" + damage.Error()
	}
	return &exitError{code: exitUsage, msg: msg}
}

// suggestStep names the step closest to addr, or lists them all.
func suggestStep(addr string, have []string) string {
	if len(have) == 0 {
		return "It recorded no steps."
	}
	best, bestDist := "", 3
	for _, h := range have {
		if d := levenshtein.Distance(addr, h, nil); d < bestDist {
			best, bestDist = h, d
		}
	}
	if best != "" {
		return fmt.Sprintf("Did you mean %s?", best)
	}
	return "Its steps: " + strings.Join(have, ", ") + "."
}

// printLogs prints a run's lines; following, it polls for new ones until
// the run is no longer running (another zrun process may be writing it).
// The run's status is read before each poll: the ledger writes a run's last
// lines before its end, so the poll after seeing the end has them all.
func (a *app) printLogs(c *cobra.Command, s state.Store, runID, step string, follow bool) error {
	var after int64
	for {
		r, damage, err := getRun(c, s, runID)
		if err != nil {
			return err
		}
		lines, err := s.Logs(ctxOf(c), runID, step, after)
		logsDamage, err := readErr(err)
		if err != nil {
			return err
		}
		damage = cmp.Or(damage, logsDamage)
		for _, l := range lines {
			prefix := ""
			if step == "" {
				prefix = l.Step + " | "
			}
			fmt.Fprintf(a.stdout, "%s %s%s\n", l.Time.UTC().Format("15:04:05.000"), prefix, l.Line)
			after = l.Seq
		}
		if !follow || r.Status != state.StatusRunning || damage != nil {
			return damage
		}
		select {
		case <-ctxOf(c).Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (a *app) unlockCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "unlock RUN --force",
		Short: "Release the lock a run holds (when its zrun is gone on another machine)",
		Args:  exactArgs(1, "the id of the run holding the lock"),
		RunE: func(c *cobra.Command, args []string) error {
			if !force {
				return &exitError{code: exitUsage, msg: "unlocking takes --force: make sure run " + args[0] + " is really gone first"}
			}
			return a.withLedger(c, func(s state.Store) error {
				if err := s.ForceUnlock(ctxOf(c), args[0]); errors.Is(err, state.ErrNotFound) {
					return &exitError{code: exitUsage, msg: fmt.Sprintf("run %s holds no lock", args[0])}
				} else if err != nil {
					return &exitError{code: exitFailure, msg: err.Error()}
				}
				fmt.Fprintf(a.stdout, "Released the lock of run %s.\n", args[0])
				return nil
			})
		},
	}
	c.Flags().BoolVar(&force, "force", false, "really release it")
	return c
}

func (a *app) resumeCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "resume RUN",
		Short: "Run again what a failed or interrupted run did not finish, reusing what it did",
		Args:  exactArgs(1, "the id of the run to resume (see zrun runs)"),
		RunE: func(c *cobra.Command, args []string) error {
			req, err := f.request("")
			if err != nil {
				return err
			}
			return a.record(c, f, func(r *engine.Runner) (*engine.RunResult, hcl.Diagnostics) {
				return r.Resume(ctxOf(c), engine.ResumeRequest{RunID: args[0], Params: req.Params, ParamsFiles: req.ParamsFiles,
					LockWait: f.lockWait, Confirm: a.confirmer(f.yes), Commit: projectCommit(ctxOf(c), a.dir)})
			})
		},
	}
	f.register(c, withLockWait|withYes)
	return c
}
