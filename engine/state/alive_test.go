package state

import (
	"os"
	"os/exec"
	"testing"
)

func TestHolderAlive(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		holder LockHolder
		want   bool
	}{
		"this process":         {LockHolder{Host: host, PID: os.Getpid()}, true},
		"exited process":       {LockHolder{Host: host, PID: dead.ProcessState.Pid()}, false},
		"other host, dead pid": {LockHolder{Host: host + "-elsewhere", PID: dead.ProcessState.Pid()}, true},
		"no pid":               {LockHolder{Host: host}, true},
		"negative pid":         {LockHolder{Host: host, PID: -1}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := HolderAlive(tc.holder); got != tc.want {
				t.Errorf("HolderAlive(%+v) = %t, want %t", tc.holder, got, tc.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	r := &Run{Workflow: "deploy", Env: "prod", Status: StatusOK}
	tests := map[string]struct {
		filter Filter
		match  bool
		max    int
	}{
		"zero":           {Filter{}, true, DefaultLimit},
		"all fields":     {Filter{Workflow: "deploy", Env: "prod", Status: StatusOK, Limit: 3}, true, 3},
		"other workflow": {Filter{Workflow: "backup"}, false, DefaultLimit},
		"other env":      {Filter{Env: "staging"}, false, DefaultLimit},
		"other status":   {Filter{Status: StatusFailed, Limit: -1}, false, DefaultLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.filter.Match(r); got != tc.match {
				t.Errorf("Match = %t, want %t", got, tc.match)
			}
			if got := tc.filter.MaxRuns(); got != tc.max {
				t.Errorf("MaxRuns = %d, want %d", got, tc.max)
			}
		})
	}
}
