package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"

	"github.com/zrun-dev/zrun/engine"
	"github.com/zrun-dev/zrun/engine/events"
)

// view renders a run's events; close flushes it.
type view interface {
	events.Sink
	close()
}

// newView picks the renderer: JSON lines, a live terminal view, or plain
// timestamped lines when output is not a terminal (CI).
func (a *app) newView(output string) view {
	if output == "json" {
		return jsonView{events.JSONLines(a.stdout)}
	}
	if f, ok := a.stdout.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb" {
		return newLiveView(f, !a.noColor)
	}
	return &plainView{w: a.stdout}
}

type jsonView struct{ events.Sink }

func (jsonView) close() {}

// plainView prints one timestamped line per event; a step's progress at
// most every plainProgressEvery (and its last report when it ends), so a
// long transfer does not flood a CI log.
type plainView struct {
	mu       sync.Mutex
	w        io.Writer
	progress map[string]*progress
}

const plainProgressEvery = 5 * time.Second

func (v *plainView) close() {}

func (v *plainView) Event(e events.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p, ok := e.(events.StepProgress); ok {
		if v.progress == nil {
			v.progress = map[string]*progress{}
		}
		pr := v.progress[p.Step]
		if pr == nil {
			pr = &progress{}
			v.progress[p.Step] = pr
		}
		pr.update(p)
		if p.Time.Sub(pr.shown) < plainProgressEvery && (p.Total == 0 || p.Done < p.Total) {
			return
		}
		pr.shown = p.Time
		fmt.Fprintf(v.w, "%s %s | %s\n", p.Time.UTC().Format("2006-01-02T15:04:05.000Z"), p.Step, pr.String())
		return
	}
	if f, ok := e.(events.StepFinished); ok {
		delete(v.progress, f.Step)
	}
	line := plainLine(e)
	if line == "" {
		return
	}
	fmt.Fprintln(v.w, line)
}

// progress is what a view shows of a step's progress reports: the
// plugin's message (a transfer's says its bytes and rate), how far it is
// when the total is known, and the time left at the pace so far.
type progress struct {
	first, last events.StepProgress
	shown       time.Time // plainView: when it was last printed
}

func (p *progress) update(e events.StepProgress) {
	if p.first.Time.IsZero() || e.Done < p.last.Done {
		p.first = e
	}
	p.last = e
}

func (p *progress) String() string {
	e := p.last
	what := e.Message
	if what == "" {
		what = fmt.Sprint(e.Done)
		if e.Total > 0 {
			what += fmt.Sprintf(" of %d", e.Total)
		}
	}
	if e.Total <= 0 {
		return what
	}
	what += fmt.Sprintf(" (%d%%", min(100, e.Done*100/e.Total))
	if elapsed, done := e.Time.Sub(p.first.Time), e.Done-p.first.Done; elapsed > time.Second && done > 0 && e.Done < e.Total {
		left := time.Duration(float64(elapsed) * float64(e.Total-e.Done) / float64(done))
		what += ", " + left.Round(time.Second).String() + " left"
	}
	return what + ")"
}

// plainLine is an event as timestamped lines: a message of several lines
// (a multi-line error) goes on as lines with the same timestamp and
// subject, so that every line of the output starts the same way.
func plainLine(e events.Event) string {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	switch e := e.(type) {
	case events.RunStarted:
		return fmt.Sprintf("%s run %s: workflow %s, environment %s", ts(e.Time), e.RunID, e.Workflow, e.Env)
	case events.StepStarted:
		s := fmt.Sprintf("%s %s started (%s)", ts(e.Time), e.Step, e.Action)
		if e.Attempt > 1 {
			s += fmt.Sprintf(", attempt %d", e.Attempt)
		}
		return s
	case events.StepLog:
		return continued(fmt.Sprintf("%s %s | ", ts(e.Time), e.Step), e.Line, "")
	case events.StepFinished:
		head := fmt.Sprintf("%s %s ", ts(e.Time), e.Step)
		return continued(head, string(e.Status)+finishDetail(e), "  ")
	case events.RunFinished:
		return fmt.Sprintf("%s run %s %s in %s", ts(e.Time), e.RunID, e.Status, e.Duration.Round(time.Millisecond))
	}
	return ""
}

// continued writes text after prefix, and each further line of it after
// prefix and indent, so no line of a multi-line text loses the prefix.
func continued(prefix, text, indent string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimRight(text, "\r\n"), "\r\n", "\n"), "\n")
	for i := range lines {
		if i > 0 {
			lines[i] = indent + lines[i]
		}
		lines[i] = prefix + strings.TrimRight(lines[i], "\r")
	}
	return strings.Join(lines, "\n")
}

// finishDetail is what follows a finished step's status: how many
// attempts it took when it was retried, how long, and its error.
func finishDetail(e events.StepFinished) string {
	s := ""
	if e.Attempt > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempt)
	}
	if e.Duration > 0 {
		s += " in " + e.Duration.Round(time.Millisecond).String()
	}
	if e.Error != "" {
		s += ": " + e.Error
	}
	return s
}

// liveView redraws the running steps, with elapsed time and the tail of
// their output, below the lines of the steps that finished.
type liveView struct {
	mu      sync.Mutex
	f       *os.File
	color   bool
	running map[string]*liveStep
	drawn   int
	done    chan struct{}
	stopped chan struct{}
}

type liveStep struct {
	start    time.Time
	last     string
	tail     []string
	progress *progress // nil until the step reports progress
}

const tailLines = 8

func newLiveView(f *os.File, color bool) *liveView {
	v := &liveView{f: f, color: color, running: map[string]*liveStep{}, done: make(chan struct{}), stopped: make(chan struct{})}
	go v.loop()
	return v
}

func (v *liveView) loop() {
	defer close(v.stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.done:
			return
		case <-t.C:
			v.mu.Lock()
			v.redraw()
			v.mu.Unlock()
		}
	}
}

func (v *liveView) close() {
	close(v.done)
	<-v.stopped
	v.mu.Lock()
	v.clear()
	v.mu.Unlock()
}

func (v *liveView) Event(e events.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e := e.(type) {
	case events.RunStarted:
		v.println(fmt.Sprintf("Running %s in %s (run %s)", v.bold(e.Workflow), v.bold(e.Env), e.RunID))
	case events.StepStarted:
		if s, ok := v.running[e.Step]; ok {
			s.last = fmt.Sprintf("attempt %d", e.Attempt)
			return
		}
		v.running[e.Step] = &liveStep{start: e.Time}
	case events.StepProgress:
		if s, ok := v.running[e.Step]; ok {
			if s.progress == nil {
				s.progress = &progress{}
			}
			s.progress.update(e)
			s.last = s.progress.String()
		}
	case events.StepLog:
		if s, ok := v.running[e.Step]; ok {
			s.last = e.Line
			s.tail = append(s.tail, e.Line)
			if len(s.tail) > tailLines {
				s.tail = s.tail[1:]
			}
		}
	case events.StepFinished:
		s := v.running[e.Step]
		delete(v.running, e.Step)
		v.println(v.statusLine(e))
		if e.Status == events.StatusFailed && s != nil {
			for _, l := range s.tail {
				v.println("    │ " + l)
			}
		}
	}
	v.redraw()
}

func (v *liveView) statusLine(e events.StepFinished) string {
	icon := map[events.Status]string{events.StatusOK: v.green("✓"), events.StatusFailed: v.red("✗"), events.StatusSkipped: "-", events.StatusCancelled: v.red("⊘")}[e.Status]
	if icon == "" {
		icon = "?"
	}
	return continued("", fmt.Sprintf("%s %s %s%s", icon, e.Step, e.Status, finishDetail(e)), "    ")
}

// println prints a permanent line above the live area.
func (v *liveView) println(s string) {
	v.clear()
	fmt.Fprintln(v.f, s)
}

func (v *liveView) clear() {
	if v.drawn > 0 {
		fmt.Fprintf(v.f, "\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *liveView) redraw() {
	v.clear()
	width := 100
	if w, _, err := term.GetSize(int(v.f.Fd())); err == nil && w > 20 {
		width = w
	}
	names := make([]string, 0, len(v.running))
	for n := range v.running {
		names = append(names, n)
	}
	sort.Strings(names)
	spin := `⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏`
	frame := string([]rune(spin)[int(time.Now().UnixMilli()/100)%10])
	for _, n := range names {
		s := v.running[n]
		line := fmt.Sprintf("%s %s %5.1fs  %s", frame, n, time.Since(s.start).Seconds(), s.last)
		if r := []rune(line); len(r) > width-1 {
			line = string(r[:width-1])
		}
		fmt.Fprintln(v.f, line)
		v.drawn++
	}
}

func (v *liveView) paint(code, s string) string {
	if !v.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (v *liveView) bold(s string) string  { return v.paint("1", s) }
func (v *liveView) green(s string) string { return v.paint("32", s) }
func (v *liveView) red(s string) string   { return v.paint("31", s) }

// printSummary prints the run's outcome and outputs after the events.
func (a *app) printSummary(res *engine.RunResult) {
	counts := map[events.Status]int{}
	for _, s := range res.Steps {
		counts[s.Status]++
	}
	var parts []string
	for _, st := range []events.Status{events.StatusOK, events.StatusFailed, events.StatusSkipped, events.StatusCancelled} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	if len(parts) == 0 {
		parts = []string{"nothing to run"}
	}
	fmt.Fprintf(a.stdout, "\nRun %s %s in %s: %s.\n", res.ID, res.Status, res.Duration.Round(time.Millisecond), strings.Join(parts, ", "))
	if res.Error != "" {
		fmt.Fprintln(a.stdout, continued("", "Error: "+res.Error, "  "))
	}
	if len(res.Outputs)+len(res.OutputErrors) > 0 {
		fmt.Fprintln(a.stdout, "\nOutputs:")
		for _, k := range sortedKeys(res.Outputs) {
			fmt.Fprintf(a.stdout, "  %s = %s\n", k, showValue(res.Outputs[k]))
		}
		for _, k := range sortedKeys(res.OutputErrors) {
			fmt.Fprintf(a.stdout, "  %s: not evaluated (see the error above)\n", k)
		}
	}
}

// showValue prints a value as JSON, sensitive parts redacted.
func showValue(v cty.Value) string {
	b, err := json.Marshal(engine.DisplayValue(v))
	if err != nil {
		return "?"
	}
	return string(b)
}
