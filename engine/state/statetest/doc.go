// Package statetest is the conformance suite every state.Store passes.
//
// A store's test calls Run with a function that opens a fresh, empty store;
// a store that keeps its data across Close passes Reopen so the suite also
// checks that. The suite pins down what the state.Store interface leaves
// open:
//
//   - CreateRun refuses an empty or existing id; a run created with no
//     Status is running.
//   - FinishRun, PutSteps and AppendLogs of an unknown run, and GetRun of
//     one, return state.ErrNotFound; so does ForceUnlock of a run that
//     holds no lock.
//   - AppendLogs writes each line's assigned Seq back into the slice.
//   - Lock by the run that already holds the key succeeds (it is
//     idempotent). Unlock by a run that does not hold the key is a no-op
//     that returns nil and leaves the holder's lock in place.
//   - ForceUnlock and the take-over of a dead holder both mark the
//     holder's run abandoned if it is still running.
//   - Times come back equal to what was stored at microsecond precision;
//     empty and nil maps and byte slices are not told apart.
package statetest
