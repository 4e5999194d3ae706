package main

import (
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
