package state

import (
	"context"
	"errors"
	"fmt"
)

// ErrDamaged is wrapped by the errors of a store whose data is damaged: a
// file with flipped bytes, a record that no longer decodes. Reads that
// meet damage return what they could still read together with such an
// error (a *DamageError), so one bad record never hides the others.
var ErrDamaged = errors.New("the ledger is damaged")

// DamageError says where a store is damaged and what could not be read.
type DamageError struct {
	// Where is the damaged file (or database).
	Where string
	// Problems are what was found, one per damaged record or page.
	Problems []string
	// Hint says what to do about it, as a full sentence.
	Hint string
}

func (e *DamageError) Error() string {
	msg := fmt.Sprintf("the ledger %s is damaged", e.Where)
	switch n := len(e.Problems); {
	case n == 1:
		msg += ": " + e.Problems[0]
	case n == 2:
		msg += fmt.Sprintf(": %s (and 1 more problem)", e.Problems[0])
	case n > 2:
		msg += fmt.Sprintf(": %s (and %d more problems)", e.Problems[0], n-1)
	}
	if e.Hint != "" {
		msg += ". " + e.Hint
	}
	return msg
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// Checker is a Store that can verify itself (`zrun ledger check`).
type Checker interface {
	// Check reads every record and verifies the store's invariants,
	// returning every problem found, joined, or nil.
	Check(ctx context.Context) error
}

// SalvageReport says what a salvage kept and what it could not.
type SalvageReport struct {
	// Damaged is where the damaged data was moved aside; New is the
	// fresh store that holds what could be read.
	Damaged, New string
	// What was kept.
	Runs, Steps, Logs, Locks int
	// StandIns counts the runs (among Runs) whose own record was lost but
	// whose steps or lines were found: they are kept under a stand-in run
	// record (status abandoned). Problems says what was unreadable.
	StandIns int
	Problems []string
}

// Salvager is a Store that can copy what is readable of itself into a
// fresh store, keeping the damaged one aside (`zrun ledger salvage`).
type Salvager interface {
	Salvage(ctx context.Context) (*SalvageReport, error)
}
