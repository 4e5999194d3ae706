package local

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

// CommandIDEnv is the variable every command Exec starts carries (and so,
// unless they clear their environment, everything those commands start):
// "PID.N", this process's id and a counter. It is how a process tells its
// commands' descendants apart once they have left their process group
// (setsid, a double fork) and come to it as orphans.
const CommandIDEnv = "ZRUN_COMMAND_ID"

// The registry of this process's own children: the commands Exec runs and
// the processes started through Spawn. Anything else among its children
// is an orphan that came to it as a subreaper.
var reg = struct {
	// spawn is held shared while a child is forked and recorded, and
	// exclusively by KillOrphans, so it never takes a child being started
	// for an orphan.
	spawn sync.RWMutex

	mu      sync.Mutex
	pids    map[int]bool    // children started by this process, until reaped
	running map[string]bool // command ids whose command has not ended
}{pids: map[int]bool{}, running: map[string]bool{}}

var commandSeq atomic.Uint64

// subreaper is set once this process has become a child subreaper.
var subreaper atomic.Bool

// newCommandID returns a fresh command id, recorded as running.
func newCommandID() string {
	id := strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(commandSeq.Add(1), 10)
	reg.mu.Lock()
	reg.running[id] = true
	reg.mu.Unlock()
	return id
}

// commandEnded forgets a command id: from now on a process carrying it is
// an orphan to kill.
func commandEnded(id string) {
	reg.mu.Lock()
	was := reg.running[id]
	delete(reg.running, id)
	reg.mu.Unlock()
	if was {
		sweepSoon()
	}
}

func addPid(pid int) {
	reg.mu.Lock()
	reg.pids[pid] = true
	reg.mu.Unlock()
}

func removePid(pid int) {
	reg.mu.Lock()
	delete(reg.pids, pid)
	reg.mu.Unlock()
}

// ownPid reports whether a child was started by this process (and not
// yet reaped).
func ownPid(pid int) bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.pids[pid]
}

// ended reports whether id names a command of this process that has ended.
func ended(id string) bool {
	if id == "" || !ourID(id) {
		return false
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return !reg.running[id]
}

// ourID reports whether a command id was issued by this process.
func ourID(id string) bool {
	prefix := strconv.Itoa(os.Getpid()) + "."
	return len(id) > len(prefix) && id[:len(prefix)] == prefix
}

// Spawn runs start, which starts one child process and returns its pid
// (0 if it started none), and records that child as this process's own
// until release is called, after the child has exited. A process that
// starts children other than through Exec (zrun its plugins) must start
// them through Spawn, or KillOrphans kills them.
func Spawn(start func() (pid int, err error)) (release func(), err error) {
	reg.spawn.RLock()
	pid, err := start()
	if pid > 0 {
		addPid(pid)
	}
	reg.spawn.RUnlock()
	return func() {
		if pid > 0 {
			removePid(pid)
		}
	}, err
}
