package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/zrun-dev/zrun/sdk"
)

// pluginLog turns what one plugin writes to stderr into log lines: hclog
// JSON (what the SDK's logger writes) keeps its level, message and
// fields; a plain line is debug unless it starts with [TRACE], [DEBUG],
// [INFO], [WARN] or [ERROR]. Lines below the level of Options.Logger are
// dropped.
//
// A plugin served by the SDK sends what it wrote to stderr while one
// call was its only one in that call's stream, ahead of the answer
// (stepStream): those lines are the step's. The rest come on its stderr.
// A kept line from there belongs to a step when exactly one step of the plugin was
// running when it was written: at its hclog timestamp (the plugin is a
// local process on the same clock), or for a line without one, when it
// arrives. The timestamp matters because stderr and a call's answer
// travel apart: a step's last line may arrive after its call returned,
// even after the next step started. Such a line goes to that step's
// sdk.UI, so the engine masks it, shows it and records it in the ledger
// with the step. Otherwise it belongs to the run and goes to
// Options.Logger, named after the plugin.
type pluginLog struct {
	plugin string
	logger hclog.Logger
	level  hclog.Level

	mu      sync.Mutex
	running map[*runningStep]struct{}
	ended   []*runningStep // by end, those that ended within logLinger
	// last is when the last step ended or the last line arrived.
	last time.Time
}

// runningStep is one RunAction call: from start to end (zero while it
// runs).
type runningStep struct {
	ui         sdk.UI
	start, end time.Time
}

const (
	maxLogLine = 64 << 10
	logLinger  = 2 * time.Second // how late a step's line may arrive
)

func newPluginLog(plugin string, logger hclog.Logger) *pluginLog {
	level := logger.GetLevel()
	if level == hclog.NoLevel { // a null logger
		level = hclog.Off
	}
	return &pluginLog{plugin: plugin, logger: logger.Named(plugin), level: level}
}

// track records that a step of the plugin runs until the returned func
// is called.
func (l *pluginLog) track(ui sdk.UI) func() {
	if ui == nil {
		return func() {}
	}
	s := &runningStep{ui: ui, start: time.Now()}
	l.mu.Lock()
	// Steps end in the order of ended, so the expired ones are its head:
	// each step is dropped once, whatever the number in the run.
	i := 0
	for i < len(l.ended) && s.start.Sub(l.ended[i].end) > logLinger {
		l.ended[i] = nil
		i++
	}
	l.ended = l.ended[i:]
	if l.running == nil {
		l.running = map[*runningStep]struct{}{}
	}
	l.running[s] = struct{}{}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		s.end = time.Now()
		l.last = s.end
		delete(l.running, s)
		l.ended = append(l.ended, s)
	}
}

// settle waits, at most max, until the plugin's log has been quiet for
// quiet since its last step ended or its last line arrived, so that a
// line a step wrote just before its call returned (it travels apart from
// the answer) reaches the step before the run is recorded as finished.
// It returns at once for a plugin that ran no step.
func (l *pluginLog) settle(ctx context.Context, quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	for {
		l.mu.Lock()
		last := l.last
		l.mu.Unlock()
		wait := quiet - time.Since(last)
		if last.IsZero() || wait <= 0 || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(wait, time.Until(deadline))):
		}
	}
}

// stream returns a writer for one of a process's streams of log lines
// (its stderr, or os.Stderr relayed once it serves), each with a line
// buffer of its own.
func (l *pluginLog) stream() io.Writer { return &logStream{log: l} }

// stepStream returns the writer of the lines the SDK sends in a call's
// stream (sdk.RunRequest.PluginLog): they are the step's, whenever they
// were written. Flush it when the call returns.
func (l *pluginLog) stepStream(ui sdk.UI) *logStream { return &logStream{log: l, ui: ui} }

// logStream splits one stream into lines, cut at maxLogLine.
type logStream struct {
	log *pluginLog
	ui  sdk.UI // the step every line belongs to; nil: by their time

	mu   sync.Mutex
	line []byte // the line being written; past maxLogLine the rest is dropped
}

// Write takes a stream in any pieces; whole lines are logged.
func (s *logStream) Write(p []byte) (int, error) {
	n := len(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLogLine - len(s.line); len(chunk) > room {
			chunk = chunk[:room]
		}
		s.line = append(s.line, chunk...)
		if i < 0 {
			break
		}
		s.log.log(bytes.TrimSuffix(s.line, []byte("\r")), s.ui)
		s.line = s.line[:0]
		p = p[i+1:]
	}
	return n, nil
}

// flush logs an unfinished last line.
func (s *logStream) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.line) > 0 {
		s.log.log(s.line, s.ui)
		s.line = s.line[:0]
	}
}

// log logs one line: as ui's, or, for a nil ui, as the step's that ran
// when it was written, if only one did.
func (l *pluginLog) log(line []byte, ui sdk.UI) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	level, msg, at := parseLogLine(line)
	if level < l.level {
		return
	}
	if at.IsZero() {
		at = time.Now()
	}
	l.mu.Lock()
	l.last = time.Now()
	l.mu.Unlock()
	if ui == nil {
		ui = l.step(at)
	}
	if ui != nil {
		ui.Logf("[%s] %s", strings.ToUpper(level.String()), msg)
		return
	}
	l.logger.Log(level, msg)
}

// step returns the UI of the one step that ran at time at, or nil.
func (l *pluginLog) step(at time.Time) sdk.UI {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found sdk.UI
	for s := range l.running {
		if !at.Before(s.start) {
			if found != nil {
				return nil // two at once
			}
			found = s.ui
		}
	}
	for _, s := range l.ended {
		if !at.Before(s.start) && !at.After(s.end) {
			if found != nil {
				return nil
			}
			found = s.ui
		}
	}
	return found
}

// hclogMeta are the fields of an hclog JSON line that are not the
// caller's key-value pairs.
var hclogMeta = map[string]bool{"@level": true, "@message": true, "@timestamp": true, "@module": true, "@caller": true}

// parseLogLine reads one line of a plugin's stderr. It never fails: a
// line that is not hclog JSON is a plain one. (go-plugin's own parser
// panics on JSON whose "@message" is not a string, which is why it is
// not used; see quietLogger.)
func parseLogLine(line []byte) (hclog.Level, string, time.Time) {
	var at time.Time
	var entry map[string]any
	if line[0] == '{' && json.Unmarshal(line, &entry) == nil {
		lvl, _ := entry["@level"].(string)
		msg, isString := entry["@message"].(string)
		if ts, ok := entry["@timestamp"].(string); ok {
			at, _ = time.Parse(time.RFC3339Nano, ts)
		}
		if level := hclog.LevelFromString(lvl); level != hclog.NoLevel && level != hclog.Off && isString {
			var b strings.Builder
			b.WriteString(msg)
			for _, k := range slices.Sorted(maps.Keys(entry)) {
				if !hclogMeta[k] {
					fmt.Fprintf(&b, " %s=%v", k, entry[k])
				}
			}
			return level, b.String(), at
		}
	}
	text := string(line)
	// hclog's text format and Go's log package put a date and a time
	// before the level.
	rest := text
	for range 2 {
		if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			_, after, _ := strings.Cut(rest, " ")
			rest = strings.TrimLeft(after, " ")
		}
	}
	for _, level := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if msg, ok := strings.CutPrefix(rest, "["+strings.ToUpper(level.String())+"]"); ok {
			return level, strings.TrimSpace(msg), time.Time{}
		}
	}
	return hclog.Debug, text, time.Time{}
}

// quietLogger is the logger go-plugin gets: its own messages pass, but
// it reports itself off, so go-plugin leaves the plugin's stderr lines
// to pluginLog instead of parsing them (its parser can panic on a
// plugin's malformed JSON, which would take zrun down).
type quietLogger struct{ hclog.Logger }

func (quietLogger) GetLevel() hclog.Level { return hclog.Off }

func (l quietLogger) Named(name string) hclog.Logger { return quietLogger{l.Logger.Named(name)} }

func (l quietLogger) ResetNamed(name string) hclog.Logger {
	return quietLogger{l.Logger.ResetNamed(name)}
}

func (l quietLogger) With(args ...any) hclog.Logger { return quietLogger{l.Logger.With(args...)} }

// Interface guards
var _ hclog.Logger = quietLogger{}
