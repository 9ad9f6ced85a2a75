// Package testutil holds what the node packages' tests share: waiting on a
// condition with a deadline instead of sleeping for a guessed time.
package testutil

import (
	"os"
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

// TempDir is t.TempDir on a memory file system when the machine has one
// (/dev/shm), else t.TempDir itself. In-process cluster tests open, kill
// and reopen many small stores, and on a virtual disk the first touch of
// each new file's pages costs milliseconds; nothing these tests check
// depends on the disk (kill -9 durability is tested with real processes,
// in cmd/dynkv and chaos, on the ordinary temporary directory).
func TempDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "dynkv-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return dir
}
