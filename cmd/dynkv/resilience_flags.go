package main

import (
	"errors"
	"time"

	"github.com/dynkv/dynkv/node"
)

// resilienceFlags tune hinted handoff, anti-entropy and tombstone reaping.
type resilienceFlags struct {
	hintInterval, hintWindow        time.Duration
	hintRate                        float64
	antiEntropyInterval             time.Duration
	antiEntropyRate                 float64
	tombstoneGrace, suspectCooldown time.Duration
	connectTimeout, shutdownDrain   time.Duration
	readSpeculateAfter              time.Duration
	bucketSyncInterval              time.Duration
}

func (r *resilienceFlags) register(f *flags) {
	d := node.DefaultConfig()
	f.DurationVar(&r.hintInterval, "hint-interval", d.HintInterval, "how often hints are offered to their returning replicas, a `duration`")
	f.DurationVar(&r.hintWindow, "hint-window", d.HintWindow, "a replica down longer than this `duration` has its hints handed to another replica (anti-entropy carries them on)")
	f.Float64Var(&r.hintRate, "hint-rate", d.HintRate, "most hints delivered per second, a `rate`, so a returning node is not flooded")
	f.DurationVar(&r.antiEntropyInterval, "anti-entropy-interval", d.AntiEntropyInterval, "pause between two anti-entropy passes over every partition, a `duration`; bounds convergence without reads")
	f.Float64Var(&r.antiEntropyRate, "anti-entropy-rate", d.AntiEntropyRate, "most keys anti-entropy repairs per second, a `rate`, so it never starves client traffic")
	f.DurationVar(&r.tombstoneGrace, "tombstone-grace", d.TombstoneGrace, "age (a `duration`) before a tombstone every replica agrees on is forgotten; keep it well above --hint-window")
	f.DurationVar(&r.connectTimeout, "connect-timeout", d.ConnectTimeout, "bound (a `duration`) on dialing a peer, so an unreachable replica costs little of --request-timeout")
	f.DurationVar(&r.shutdownDrain, "shutdown-drain", 2*time.Second, "on SIGTERM/SIGINT, how long (a `duration`) to keep answering 503 shutting_down (clients fail over, /healthz turns unhealthy) before closing the listener")
	f.DurationVar(&r.readSpeculateAfter, "read-speculate-after", d.ReadSpeculateAfter, "a read asks R replicas, and one more when they have not answered within this `duration`; negative asks all N at once")
	f.DurationVar(&r.bucketSyncInterval, "bucket-sync-interval", d.BucketSyncInterval, "how often (a `duration`) bucket props are compared with peers whose digest differs, besides on every membership change; negative: only then")
	f.DurationVar(&r.suspectCooldown, "suspect-cooldown", d.SuspectCooldown, "how long (a `duration`) a peer that could not be reached is avoided before being tried again")
}

func (r *resilienceFlags) apply(c *node.Config) {
	c.HintInterval, c.HintWindow, c.HintRate = r.hintInterval, r.hintWindow, r.hintRate
	c.AntiEntropyInterval, c.AntiEntropyRate = r.antiEntropyInterval, r.antiEntropyRate
	c.TombstoneGrace, c.SuspectCooldown = r.tombstoneGrace, r.suspectCooldown
	c.ConnectTimeout, c.ShutdownDrain = r.connectTimeout, r.shutdownDrain
	c.ReadSpeculateAfter = r.readSpeculateAfter
	c.BucketSyncInterval = r.bucketSyncInterval
}

func (r *resilienceFlags) check() []error {
	var errs []error
	for name, d := range map[string]time.Duration{
		"--hint-interval": r.hintInterval, "--hint-window": r.hintWindow, "--anti-entropy-interval": r.antiEntropyInterval,
		"--tombstone-grace": r.tombstoneGrace, "--suspect-cooldown": r.suspectCooldown, "--connect-timeout": r.connectTimeout,
	} {
		if d <= 0 {
			errs = append(errs, errors.New(name+" must be positive"))
		}
	}
	if r.readSpeculateAfter == 0 {
		errs = append(errs, errors.New("--read-speculate-after must not be 0 (negative asks all replicas at once)"))
	}
	if r.shutdownDrain < 0 {
		errs = append(errs, errors.New("--shutdown-drain must not be negative"))
	}
	if r.hintRate <= 0 || r.antiEntropyRate <= 0 {
		errs = append(errs, errors.New("--hint-rate and --anti-entropy-rate must be positive"))
	}
	if r.tombstoneGrace <= r.hintWindow {
		errs = append(errs, errors.New("--tombstone-grace must exceed --hint-window, or a late hint could bring a deleted value back"))
	}
	return errs
}
