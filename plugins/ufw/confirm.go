package ufw

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zrun-dev/zrun/sdk"
)

// snapshotRoot holds the snapshots of confirmed applies on the target,
// one folder each (mktemp), removed once an apply is confirmed or its
// revert checked (and those of finished reverts at the next apply).
const snapshotRoot = "/var/tmp"

// revertScript restores a snapshot: $1 is the snapshot's folder; with
// $2 = "wait" it first sleeps until the time (in seconds since the epoch)
// in its file "deadline", which zrun moves on once the apply is done.
// Deadlines are written a second late (date +%s rounds down), so the
// revert never runs before its time.
// Whoever renames "armed" first wins: the revert ("fired") or the
// confirmation ("cancelled"), so a late confirmation cannot half-cancel
// a revert that has begun.
const revertScript = `d=$1
if [ "$2" = wait ]; then
	echo $$ > "$d/pid"
	while [ "$(date +%s)" -lt "$(cat "$d/deadline" 2>/dev/null || echo 0)" ]; do sleep 0.5 2>/dev/null || sleep 1; done
fi
mv "$d/armed" "$d/fired" 2>/dev/null || exit 0
i=0
for f in ` + userRules + ` ` + user6Rules + ` ` + defaultsFile + ` ` + confFile + `; do
	[ -e "$d/file$i" ] && cat "$d/file$i" > "$f"
	i=$((i+1))
done
# ufw enable does not reread the files of a running firewall: reload does.
if ! grep -q '^ENABLED=yes' "$d/file3"; then ufw --force disable
elif ufw status | grep -q '^Status: active'; then ufw reload
else ufw --force enable
fi > "$d/revert.log" 2>&1
echo $? > "$d/done"
`

// armScript saves the firewall's files into a new snapshot folder and
// starts the revert, detached from the session (its own session, stdin
// and outputs closed), so that it survives zrun and the SSH connection.
// It prints the folder once the revert's process is running.
const armScript = `set -e
for o in ` + snapshotRoot + `/zrun-ufw.*; do [ ! -e "$o/done" ] || rm -rf "$o"; done
d=$(mktemp -d ` + snapshotRoot + `/zrun-ufw.XXXXXXXX)
i=0
for f in ` + userRules + ` ` + user6Rules + ` ` + defaultsFile + ` ` + confFile + `; do
	[ -e "$f" ] && cat "$f" > "$d/file$i"
	i=$((i+1))
done
printf '%s' "$2" > "$d/revert.sh"
echo $(( $(date +%s) + $1 + 1 )) > "$d/deadline"
touch "$d/armed"
PATH=$PATH:/usr/sbin:/sbin setsid nohup sh "$d/revert.sh" "$d" wait </dev/null >/dev/null 2>&1 &
n=0
while [ ! -s "$d/pid" ]; do n=$((n+1)); [ $n -lt 100 ] || { echo "the revert did not start" >&2; exit 1; }; sleep 0.05; done
echo "$d"
`

// cancelScript confirms an apply: it takes the token ("armed"), stops
// the revert's process group, checks it is gone, and removes the
// snapshot. It prints "cancelled", or "fired" when the revert came first.
const cancelScript = `d=$1
case "$d" in ` + snapshotRoot + `/zrun-ufw.*) ;; *) exit 2;; esac
mv "$d/armed" "$d/cancelled" 2>/dev/null || { echo fired; exit 0; }
p=$(cat "$d/pid")
kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
n=0
while kill -0 "$p" 2>/dev/null; do n=$((n+1)); [ $n -lt 100 ] || { echo "the revert process $p is still running" >&2; exit 1; }; sleep 0.05; done
rm -rf "$d"
echo cancelled
`

// revert is a confirmed apply's safety net on the target.
type revert struct {
	r       *runner
	dir     string
	timeout time.Duration
	armedAt time.Time
}

// arm snapshots the firewall and starts the revert: from now on the
// previous rules come back after timeout plus slack (the time the apply
// may take, until extend moves the deadline) unless confirm cancels it.
func arm(ctx context.Context, r *runner, timeout, slack time.Duration) (*revert, error) {
	secs := int((timeout + time.Second - 1) / time.Second)
	armedAt := time.Now().Add(slack)
	out, err := r.sh(ctx, armScript, strconv.Itoa(secs+int(slack/time.Second)), revertScript)
	if err != nil {
		return nil, fmt.Errorf("cannot arm the revert on %s (nothing was changed): %w", r.t.Name(), err)
	}
	dir := strings.TrimSpace(out)
	if !strings.HasPrefix(dir, snapshotRoot+"/zrun-ufw.") {
		return nil, fmt.Errorf("cannot arm the revert on %s (nothing was changed): unexpected output %q", r.t.Name(), out)
	}
	return &revert{r: r, dir: dir, timeout: time.Duration(secs) * time.Second, armedAt: armedAt}, nil
}

// due is when the revert runs.
func (v *revert) due() time.Time { return v.armedAt.Add(v.timeout) }

// errRevertFired is a confirmation that came after the revert began.
var errRevertFired = errors.New("the revert began before the confirmation")

// confirm logs in anew and, over that login, cancels the revert. A
// failed login cancels nothing.
func (v *revert) confirm(ctx context.Context) error {
	// The login must end before the revert runs, with a second to spare.
	ctx, cancel := context.WithDeadline(ctx, v.due().Add(-time.Second))
	defer cancel()
	var out strings.Builder
	res, err := v.r.t.Exec(ctx, &sdk.Command{Args: []string{"sh", "-c", cancelScript, "zrun-ufw", v.dir},
		Sudo: v.r.sudo, NewConnection: true, Stdout: &out, Stderr: &out})
	if err != nil {
		return fmt.Errorf("a new login to %s failed: %w", v.r.t.Name(), err)
	}
	switch {
	case res.ExitCode != 0:
		return fmt.Errorf("cancelling the revert over a new login to %s failed (exit %d): %s", v.r.t.Name(), res.ExitCode, strings.TrimSpace(out.String()))
	case strings.TrimSpace(out.String()) == "fired":
		return errRevertFired
	case strings.TrimSpace(out.String()) != "cancelled":
		return fmt.Errorf("cancelling the revert on %s: unexpected output %q", v.r.t.Name(), out.String())
	}
	return nil
}

// now reverts at once (after a failed apply), over the current connection.
func (v *revert) now(ctx context.Context) error {
	_, err := v.r.sh(ctx, `sh "$1/revert.sh" "$1" now; [ -e "$1/done" ] || [ -e "$1/cancelled" ]`, v.dir)
	if err == nil {
		// The sleeping process finds no token and exits when it wakes.
		_, _ = v.r.sh(ctx, `kill -TERM -- "-$(cat "$1/pid")" 2>/dev/null; true`, v.dir)
	}
	return err
}

// remove removes the snapshot of a revert that has run and been checked
// (best effort: the next apply removes it otherwise).
func (v *revert) remove(ctx context.Context) {
	_, _ = v.r.sh(ctx, `[ -e "$1/done" ] && rm -rf "$1"`, v.dir)
}

// wait waits for the revert to have run (until a few seconds after it is
// due), over the current connection.
func (v *revert) wait(ctx context.Context) error {
	ctx, cancel := context.WithDeadline(ctx, v.due().Add(15*time.Second))
	defer cancel()
	for {
		out, err := v.r.sh(ctx, `cat "$1/done" 2>/dev/null || true`, v.dir)
		if err == nil && strings.TrimSpace(out) != "" {
			if strings.TrimSpace(out) != "0" {
				log, _ := v.r.sh(ctx, `cat "$1/revert.log"`, v.dir)
				return fmt.Errorf("the revert ran on %s but ufw failed: %s", v.r.t.Name(), strings.TrimSpace(log))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("cannot see the revert on %s: %w", v.r.t.Name(), err)
			}
			return fmt.Errorf("the revert on %s had not run by %s", v.r.t.Name(), time.Now().Format(time.TimeOnly))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
