// Package testutil holds what the node packages' tests share: waiting on a
// condition with a deadline instead of sleeping for a guessed time.
package testutil

import (
	"testing"
	"time"
)

// Eventually checks cond until it holds, failing the test if it does not
// within the deadline. The checks are spaced by a short ticker: this is a
// wait on a condition, not a sleep, and a condition that holds at once
// costs nothing.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if cond() {
		return
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-deadline.C:
			if cond() {
				return
			}
			t.Fatalf("not within %v: %s", within, what)
		case <-poll.C:
			if cond() {
				return
			}
		}
	}
}
