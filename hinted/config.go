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
	// Window is how long a target may stay down (alive false at every
	// RunOnce pass) with hints pending before RunOnce stops waiting for it
	// and redirects its hints to another replica of each key (see RunOnce).
	// It is a time.Duration on the Monotonic clock, counted from the first
	// pass that found the target down with hints pending; that start is kept
	// in memory only, so a restart, the target coming back, or its hints
	// running out makes it count afresh. Default 3 h; at least 1 ms. No
	// hint is ever dropped for its age.
	//
	// The trade-off: a longer window keeps more hints on the fallbacks
	// (disk, a longer drain when the target returns) and leaves a write
	// whose only other copies are hints on fallback disks for longer; a
	// shorter one turns more outages from a cheap hint replay into
	// anti-entropy work, which must carry the redirected writes from the
	// other replica to the target at its own, slower pace.
	Window time.Duration

	// Monotonic is the clock that measures how long a target has been down;
	// only differences of its readings count. It must not jump with the
	// wall clock, or a step forward would redirect hints early. Nil means
	// time.Now, whose readings carry Go's monotonic clock; tests pass a fake.
	// Creation times of records come from the clock passed to Open instead.
	Monotonic func() time.Time

	// Rate is the most hints delivered per second, all targets together.
	// Default 500. A few sends (1% of a second's worth, at least one) may
	// go back to back to absorb timer jitter. math.Inf(1) disables the
	// limit (benchmarks).
	Rate float64

	// Concurrency is how many targets RunOnce delivers to or redirects at
	// once. Each target gets at most one delivery at a time. Default 2.
	Concurrency int

	// InFlight is how many hints of one target are sent at once. One at a
	// time, a drain runs at one round trip per hint (about 6,000 hints/s
	// from three stand-ins in process); several keep the link busy.
	// Hints of one target are for distinct keys, so their order does not
	// matter. Default 16.
	InFlight int

	// Timeout bounds one send or redirect. Default 5 s.
	Timeout time.Duration

	// Sleep waits for d or until ctx is done, returning ctx.Err() then; the
	// rate limiter waits through it, reading time from the clock passed to
	// Open, so the two must agree: a Sleep for a simulated clock advances
	// it. Nil means real timers, and the limiter then reads the wall clock
	// whatever clock Open got (which still stamps hints): a test that
	// freezes its clock but not Sleep is throttled in real time instead of
	// waiting longer and longer.
	Sleep func(ctx context.Context, d time.Duration) error

	// Logger receives reports of corrupt records and rejected hints
	// dropped. Nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults: 3 h window before redirecting, 500
// hints/s, 2 targets at once, 16 hints of a target in flight, 5 s per
// send. Monotonic is left nil, which
// means time.Now.
func DefaultConfig() Config {
	return Config{
		Window:      3 * time.Hour,
		Rate:        500,
		Concurrency: 2,
		InFlight:    16,
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
	if c.Monotonic == nil {
		c.Monotonic = time.Now
	}
	if c.Rate == 0 {
		c.Rate = d.Rate
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.InFlight == 0 {
		c.InFlight = d.InFlight
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
		// Almost surely a unit mistake (Window: 3 is 3 ns), which would
		// redirect every down target's hints at the second pass.
		bad("Window %v is below 1 ms", c.Window)
	}
	if math.IsNaN(c.Rate) || c.Rate < 0 {
		bad("Rate %v is not a positive number", c.Rate)
	}
	if c.Concurrency < 0 {
		bad("Concurrency %d is negative", c.Concurrency)
	}
	if c.InFlight < 0 {
		bad("InFlight %d is negative", c.InFlight)
	}
	if c.Timeout < 0 {
		bad("Timeout %v is negative", c.Timeout)
	}
	return errors.Join(errs...)
}
