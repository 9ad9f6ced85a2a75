package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// notifyShutdown delivers SIGINT and SIGTERM; call it before starting
// anything so a signal during start-up is not lost.
func notifyShutdown() (sigs <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// awaitShutdown waits for a signal, then runs stop and returns the exit
// code: 0 when stop succeeded, 1 when it failed or a second signal arrived
// before it finished (the caller then exits at once, abandoning stop).
func awaitShutdown(sigs <-chan os.Signal, log *slog.Logger, stop func() error) int {
	sig := <-sigs
	log.Info("shutting down; send the signal again to exit at once", "signal", sig.String())
	done := make(chan error, 1)
	go func() { done <- stop() }()
	select {
	case err := <-done:
		if err != nil {
			log.Error("shutdown failed", "err", err)
			return 1
		}
		return 0
	case sig := <-sigs:
		log.Warn("second signal; exiting without finishing shutdown", "signal", sig.String())
		return 1
	}
}
