package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damageRecorded is how many runs the ledger TestLedgerDamaged damages holds.
const damageRecorded = 6

// TestLedgerDamaged flips a few bytes of a real ledger file at random
// offsets, 200 times with a fixed seed, and runs the built zrun on each:
// `runs`, `show`, `logs` and `ledger check` never panic (no exit 2, no Go
// stack), and either list every run or say, with exit 1, that the file is
// damaged and what to do while still listing what is readable; every
// fourth trial a new run is recorded and listed.
func TestLedgerDamaged(t *testing.T) {
	t.Parallel()
	src := project(t, "damage")
	for range damageRecorded {
		wantCode(t, zrun(t, src, nil, "workflow", "quick"), 0)
	}
	good, err := os.ReadFile(filepath.Join(src, ".zrun", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(6, 3))
	noticed := 0
	for trial := range 200 {
		data := append([]byte(nil), good...)
		for range 1 + rng.IntN(4) {
			data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
		}
		dir := project(t, "damage")
		if err := os.MkdirAll(filepath.Join(dir, ".zrun"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".zrun", "ledger.db"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if damagedTrial(t, dir, trial%4 == 0) {
			noticed++
		}
	}
	t.Logf("%d of 200 damaged files noticed", noticed)
	if noticed == 0 {
		t.Error("no flip was noticed: the test damages nothing")
	}
}

// damagedTrial runs zrun's ledger commands on the damaged ledger in dir
// and reports whether zrun noticed the damage.
func damagedTrial(t *testing.T, dir string, record bool) (noticed bool) {
	t.Helper()
	ledger := filepath.Join(".zrun", "ledger.db")
	run := func(args ...string) result {
		t.Helper()
		r := zrun(t, dir, nil, args...)
		if r.code == 2 || strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
			t.Fatalf("zrun %s on a damaged ledger crashed:\n%s", strings.Join(args, " "), r)
		}
		return r
	}
	r := run("runs")
	ids := runIDRe.FindAllString(r.stdout, -1)
	switch r.code {
	case 0:
		if len(ids) != damageRecorded {
			t.Fatalf("zrun runs lists %d runs of %d and reports no damage:\n%s", len(ids), damageRecorded, r)
		}
	case 1:
		noticed = true
		wantContains(t, "zrun runs", oneLine(r.stderr), ledger, "is damaged", "zrun ledger salvage")
		if len(ids) < damageRecorded-2 {
			t.Errorf("zrun runs lists only %d runs of %d:\n%s", len(ids), damageRecorded, r)
		}
	default:
		t.Fatalf("zrun runs: %s", r)
	}
	for _, id := range ids[:min(len(ids), 2)] {
		run("show", id)
		run("logs", id)
	}
	check := run("ledger", "check")
	if noticed && check.code == 0 {
		t.Errorf("zrun ledger check finds nothing wrong with a ledger zrun runs found damaged:\n%s", check)
	}
	if !record {
		return noticed
	}
	r = run("workflow", "quick", "--output", "json")
	wantCode(t, r, 0)
	id := startedRunID(t, r.stdout)
	r = run("runs")
	wantContains(t, "zrun runs after a new run", r.stdout, id)
	return noticed
}

// recordRuns runs the damage project's quick workflow n times and returns
// the run ids, oldest first.
func recordRuns(t *testing.T, dir string, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		r := zrun(t, dir, nil, "workflow", "quick", "--output", "json")
		wantCode(t, r, 0)
		ids = append(ids, startedRunID(t, r.stdout))
	}
	return ids
}

// editLedger rewrites the project's ledger file with edit.
func editLedger(t *testing.T, dir string, edit func([]byte)) {
	t.Helper()
	path := filepath.Join(dir, ".zrun", "ledger.db")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(data)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerCheckAndSalvage: one unreadable run record hides no other run;
// `zrun ledger check` names it; `zrun ledger salvage` keeps everything
// readable (the run's steps and output under a stand-in) in a sound new
// file and the damaged one aside.
func TestLedgerCheckAndSalvage(t *testing.T) {
	t.Parallel()
	dir := project(t, "damage")
	ids := recordRuns(t, dir, 3)
	bad := ids[1]
	editLedger(t, dir, func(data []byte) {
		rec := []byte(`{"id":"` + bad + `"`)
		for i := bytes.Index(data, rec); i >= 0; i = bytes.Index(data, rec) {
			data[i] = 0 // every copy of the record, live or freed
		}
	})
	r := zrun(t, dir, nil, "runs")
	wantCode(t, r, 1)
	wantContains(t, "zrun runs", r.stdout, ids[0], ids[2])
	wantContains(t, "zrun runs", oneLine(r.stderr), filepath.Join(".zrun", "ledger.db")+" is damaged", bad, "zrun ledger salvage")

	r = zrun(t, dir, nil, "ledger", "check")
	wantCode(t, r, 1)
	wantContains(t, "zrun ledger check", r.stdout, "is damaged", bad)

	r = zrun(t, dir, nil, "ledger", "salvage")
	wantCode(t, r, 0)
	wantContains(t, "zrun ledger salvage", oneLine(r.stdout), "kept 3 runs, 9 step attempts", "1 of them under a stand-in", "kept as")
	aside, _ := filepath.Glob(filepath.Join(dir, ".zrun", "ledger.db.damaged-*"))
	if len(aside) != 1 {
		t.Errorf("want the damaged file kept aside, found %v", aside)
	}
	wantCode(t, zrun(t, dir, nil, "ledger", "check"), 0)
	r = zrun(t, dir, nil, "runs")
	wantCode(t, r, 0)
	wantContains(t, "zrun runs after salvage", r.stdout, ids[0], bad, ids[2], "abandoned")
	r = zrun(t, dir, nil, "logs", bad, "step.one")
	wantCode(t, r, 0)
	wantContains(t, "the stand-in run's logs", r.stdout, "one")
}

// TestLedgerRunSalvages: a run that meets a damaged ledger (both meta
// pages gone: bbolt cannot open it) salvages it, says so, and goes on.
func TestLedgerRunSalvages(t *testing.T) {
	t.Parallel()
	dir := project(t, "damage")
	ids := recordRuns(t, dir, 2)
	editLedger(t, dir, func(data []byte) { clear(data[:2*4096]) })
	r := zrun(t, dir, nil, "workflow", "quick")
	wantCode(t, r, 0)
	wantContains(t, "stderr", oneLine(r.stderr), "warning: the ledger", "was damaged", "kept aside as", "2 runs")
	r = zrun(t, dir, nil, "runs")
	wantCode(t, r, 0)
	wantContains(t, "zrun runs", r.stdout, ids[0], ids[1])
	if n := len(runIDRe.FindAllString(r.stdout, -1)); n != 3 {
		t.Errorf("want the 2 salvaged runs and the new one, got %d:\n%s", n, r.stdout)
	}
}
