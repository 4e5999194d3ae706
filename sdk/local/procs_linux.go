package local

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const prSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER, linux/prctl.h

// BecomeSubreaper makes this process a child subreaper
// (PR_SET_CHILD_SUBREAPER): its orphaned descendants are reparented to it
// instead of to init, so it can kill them. From then on the commands'
// descendants that leave their process group (setsid, a double fork) and
// outlive their command are stopped soon after the command ends
// (SIGTERM, SIGKILL after DefaultGracePeriod). zrun and every plugin
// process (sdk/plugin.Serve) call it as they start.
func BecomeSubreaper() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return e
	}
	subreaper.Store(true)
	return nil
}

// KillOrphans kills (SIGKILL) every child of this process that is not its
// own (started by Exec or Spawn), with all their descendants, and reaps
// them, waiting at most timeout. It is for a subreaper one of whose
// children died and left it its own children: a plugin process killed
// mid-step. Only a process that starts every child through Exec or Spawn
// may call it; elsewhere it does nothing.
func KillOrphans(timeout time.Duration) {
	if !subreaper.Load() {
		return
	}
	self := os.Getpid()
	deadline := time.Now().Add(timeout)
	for {
		reg.spawn.Lock()
		tab := scanProcs()
		var orphans []int
		for _, c := range tab[self] {
			// Under the lock every child this process started is
			// recorded: the rest came to it as orphans.
			if ownPid(c.pid) {
				continue
			}
			orphans = append(orphans, c.pid)
			for _, d := range descendants(tab, c.pid) {
				_ = syscall.Kill(d, syscall.SIGKILL)
			}
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
		}
		reg.spawn.Unlock()
		if len(orphans) == 0 {
			return
		}
		// Reaping an orphan means its own children have come to us: the
		// next round kills any that escaped the first.
		for _, pid := range orphans {
			reap(pid, deadline)
		}
		if time.Now().After(deadline) {
			return
		}
	}
}

// KillDescendants kills (SIGKILL) every descendant of this process and
// waits, at most timeout, until none is left alive. It is for a process
// about to exit: it reaps none of them.
func KillDescendants(timeout time.Duration) {
	if !hasChildren() {
		return // and so no descendant: orphans would have come to it
	}
	self := os.Getpid()
	deadline := time.Now().Add(timeout)
	for {
		tab := scanProcs()
		alive := 0
		for _, pid := range descendants(tab, self) {
			if stateOf(tab, pid) != 'Z' {
				alive++
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if alive == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hasChildren reports whether this process has a child, running or not,
// without a scan of /proc and without reaping any (waitid's WNOWAIT).
func hasChildren() bool {
	const pAll, wnowait = 0, 0x1000000
	var info [128]byte // siginfo_t
	_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pAll, 0, uintptr(unsafe.Pointer(&info[0])),
		syscall.WEXITED|syscall.WSTOPPED|syscall.WCONTINUED|syscall.WNOHANG|wnowait, 0, 0)
	return e != syscall.ECHILD
}

// reap waits for child pid to exit and collects it, until deadline.
func reap(pid int, deadline time.Time) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if got == pid || errors.Is(err, syscall.ECHILD) || (err != nil && !errors.Is(err, syscall.EINTR)) {
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// reapGroup collects the exited children of this process in process
// group pgid: a finished command's background processes that were
// orphaned and came to this subreaper.
func reapGroup(pgid int) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil)
		if got <= 0 || err != nil {
			return
		}
	}
}

// procInfo is one process, as its /proc/PID/stat shows it.
type procInfo struct {
	pid   int
	state byte
}

// scanProcs reads every process's parent from /proc: children by parent.
// (/proc/PID/task/TID/children would be cheaper, but many kernels lack
// CONFIG_PROC_CHILDREN.)
func scanProcs() map[int][]procInfo {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	tab := make(map[int][]procInfo, 16)
	buf := make([]byte, 512)
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ppid, state, ok := readStat(pid, buf); ok {
			tab[ppid] = append(tab[ppid], procInfo{pid: pid, state: state})
		}
	}
	return tab
}

// readStat returns a process's parent and state.
func readStat(pid int, buf []byte) (ppid int, state byte, ok bool) {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, false
	}
	n, err := syscall.Read(fd, buf)
	_ = syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, 0, false
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses.
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+4 >= len(b) {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(f[1]))
	return ppid, f[0][0], err == nil
}

// descendants lists every descendant of pid in tab, parents first.
func descendants(tab map[int][]procInfo, pid int) []int {
	var out []int
	queue := []int{pid}
	seen := map[int]bool{pid: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range tab[p] {
			if !seen[c.pid] {
				seen[c.pid] = true
				out = append(out, c.pid)
				queue = append(queue, c.pid)
			}
		}
	}
	return out
}

func stateOf(tab map[int][]procInfo, pid int) byte {
	for _, cs := range tab {
		for _, c := range cs {
			if c.pid == pid {
				return c.state
			}
		}
	}
	return 0
}

// commandIDOf returns the command id in a process's environment, "" when
// it has none or cannot be read (a zombie, a setuid program).
func commandIDOf(pid int) string {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return ""
	}
	key := []byte(CommandIDEnv + "=")
	// The last definition wins, as in getenv after an append.
	id := ""
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if bytes.HasPrefix(kv, key) {
			id = string(kv[len(key):])
		}
	}
	return id
}

// The sweeper stops the orphans of ended commands: descendants that left
// their command's process group and came to this subreaper. It runs at
// most every sweepEvery, after a command ends, so a run of many short
// commands pays for few scans of /proc.
const sweepEvery = 100 * time.Millisecond

var sweeper struct {
	once sync.Once
	wake chan struct{}
}

// sweepSoon asks the sweeper to look for orphans.
func sweepSoon() {
	if !subreaper.Load() {
		return
	}
	sweeper.once.Do(func() {
		sweeper.wake = make(chan struct{}, 1)
		go sweepLoop()
	})
	select {
	case sweeper.wake <- struct{}{}:
	default:
	}
}

func sweepLoop() {
	pending := map[int]time.Time{} // orphans sent SIGTERM, and when to SIGKILL them
	busy := false
	for {
		if !busy {
			<-sweeper.wake
		}
		busy = sweep(pending)
		time.Sleep(sweepEvery)
	}
}

// sweep signals the orphans of ended commands and reaps the ones it
// signalled. It reports whether there is more to do.
func sweep(pending map[int]time.Time) bool {
	self := os.Getpid()
	now := time.Now()
	changed := false
	seen := map[int]bool{}
	for _, c := range scanProcs()[self] {
		seen[c.pid] = true
		killAt, ok := pending[c.pid]
		switch {
		case ok && c.state == 'Z':
			reap(c.pid, now)
			delete(pending, c.pid)
			changed = true // its children have come to us
		case ok && now.After(killAt):
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
		case ok, c.state == 'Z', ownPid(c.pid):
		case ended(commandIDOf(c.pid)):
			_ = syscall.Kill(c.pid, syscall.SIGTERM)
			_ = syscall.Kill(c.pid, syscall.SIGCONT)
			pending[c.pid] = now.Add(DefaultGracePeriod)
			changed = true
		}
	}
	for pid := range pending {
		if !seen[pid] {
			delete(pending, pid)
		}
	}
	return changed || len(pending) > 0
}
