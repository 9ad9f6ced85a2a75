package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestAwaitShutdown(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{{"clean", nil, 0}, {"failed", errors.New("disk on fire"), 1}} {
		sigs := make(chan os.Signal, 1)
		sigs <- os.Interrupt
		if got := awaitShutdown(sigs, log, func() error { return tc.err }); got != tc.want {
			t.Errorf("%s: exit code %d, want %d", tc.name, got, tc.want)
		}
	}

	// A second signal while stop is still running returns 1 at once.
	sigs := make(chan os.Signal, 2)
	sigs <- os.Interrupt
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	code := make(chan int, 1)
	go func() {
		code <- awaitShutdown(sigs, log, func() error { close(started); <-release; return nil })
	}()
	<-started
	sigs <- os.Interrupt
	select {
	case got := <-code:
		if got != 1 {
			t.Errorf("exit code after a second signal %d, want 1", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal did not end the wait")
	}
}
