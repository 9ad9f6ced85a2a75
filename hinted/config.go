package hinted

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Config tunes a Queue. Zero fields take the values of DefaultConfig.
type Config struct {
	// Window is how long a hint lives, counted from when the first write
	// to its (target, key) was stored: coalescing later writes into it does
	// not extend it. At Window a hint is expired: Get, Deliver and Add treat
	// it as absent, and Expire deletes it. Anti-entropy repairs what it
	// carried. Default 3 h. A longer window means more disk and a longer
	// drain for a node that was down long; a shorter one leaves more to the
	// slower anti-entropy. Jumps of the clock move expiry with them.
	Window time.Duration

	// Rate is the most hints delivered per second, all targets together.
	// Default 500. A few sends (1% of a second's worth, at least one) may
	// go back to back to absorb timer jitter. math.Inf(1) disables the
	// limit (benchmarks).
	Rate float64

	// Concurrency is how many targets RunOnce delivers to at once. Each
	// target gets at most one delivery at a time. Default 2.
	Concurrency int

	// Timeout bounds one send. Default 5 s.
	Timeout time.Duration

	// Sleep waits for d or until ctx is done, returning ctx.Err() then; the
	// rate limiter waits through it, reading time from the clock passed to
	// Open, so the two must agree: a Sleep for a simulated clock advances
	// it. Nil means real timers, and the limiter then reads the wall clock
	// whatever clock Open got (which still stamps and expires hints): a
	// test that freezes its clock but not Sleep is throttled in real time
	// instead of waiting longer and longer.
	Sleep func(ctx context.Context, d time.Duration) error

	// Logger receives reports of corrupt records dropped and of failed
	// background passes. Nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults: 3 h window, 500 hints/s, 2 targets at
// once, 5 s per send.
func DefaultConfig() Config {
	return Config{
		Window:      3 * time.Hour,
		Rate:        500,
		Concurrency: 2,
		Timeout:     5 * time.Second,
	}
}

// ErrInvalidConfig is wrapped by Open's error for an unusable Config.
var ErrInvalidConfig = errors.New("hinted: invalid config")

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Window == 0 {
		c.Window = d.Window
	}
	if c.Rate == 0 {
		c.Rate = d.Rate
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every problem with c at once. Zero fields are valid:
// they mean the default.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...)))
	}
	if c.Window < 0 {
		bad("Window %v is negative", c.Window)
	}
	if c.Window > 0 && c.Window < time.Millisecond {
		bad("Window %v is below the 1 ms resolution of hint times", c.Window)
	}
	if math.IsNaN(c.Rate) || c.Rate < 0 {
		bad("Rate %v is not a positive number", c.Rate)
	}
	if c.Concurrency < 0 {
		bad("Concurrency %d is negative", c.Concurrency)
	}
	if c.Timeout < 0 {
		bad("Timeout %v is negative", c.Timeout)
	}
	return errors.Join(errs...)
}
