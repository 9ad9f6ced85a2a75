// Package clock is the single source of time for the server: every timer,
// ticker and monotonic reading in node/ is taken from a Clock that arrives
// through configuration, so that multi-node tests can move time forward with
// a Manual clock instead of sleeping, and so never flake on scheduling.
//
// What it owns: the Clock, Timer and Ticker interfaces, Real (a thin wrapper
// over the time package) and Manual (a deterministic clock for tests).
//
// Invariants:
//   - Time never goes backwards: Manual.Now is non-decreasing.
//   - Firing never blocks the caller that moves time: channels have a buffer
//     of one and a value that does not fit is dropped, as in the time package.
//   - After Stop or Reset returns, no value prepared before the call is
//     received from the channel (the Go 1.23+ time.Timer contract).
//
// What it must not know: anything about nodes, rings, replicas, transports or
// configuration. It imports only the standard library, so that every package
// in the module can depend on it without cycles.
package clock

import "time"

// Clock is a source of monotonic time and of timers/tickers driven by it.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
	NewTicker(d time.Duration) Ticker
	// Sleep-free helper: After(d) is NewTimer(d).C() for select statements
	// where stopping does not matter.
	After(d time.Duration) <-chan time.Time
}

// Timer is the subset of *time.Timer the server uses, as an interface so
// that a Manual clock can drive it.
type Timer interface {
	C() <-chan time.Time
	// Stop is as time.Timer.Stop: it reports true if the call stopped the
	// timer before its value was received.
	Stop() bool
	// Reset is as time.Timer.Reset with Go 1.23+ semantics: no stale value is
	// received after it returns.
	Reset(d time.Duration) bool
}

// Ticker is the subset of *time.Ticker the server uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Compile-time checks that both implementations satisfy the interfaces
// other packages are written against.
var (
	_ Clock = Real()
	_ Clock = (*Manual)(nil)
)

// realClock is a value type with no fields, so Real needs no package-level
// mutable state.
type realClock struct{}

// Real returns the Clock of the time package (time.Now, time.NewTimer,
// time.NewTicker). It is the production default.
func Real() Clock { return realClock{} }

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTicker panics if d <= 0, as time.NewTicker does.
func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// realTimer adapts *time.Timer, whose channel is a field, to the Timer
// interface, whose channel is a method.
type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// realTicker adapts *time.Ticker to the Ticker interface.
type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Stop()                 { r.t.Stop() }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }
