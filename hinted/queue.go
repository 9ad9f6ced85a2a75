package hinted

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dynkv/dynkv/store"
)

// KV is the storage a Queue keeps its hints in: a keyspace of its own,
// which the Queue owns entirely. *store.Keyspace satisfies it; its contract
// is the one to follow in a fake:
//
//   - Get returns a copy of the value, or an error wrapping
//     store.ErrNotFound.
//   - Update is an atomic read-modify-write of one key, serialized with
//     every other Update of that key: fn gets a copy of the current value
//     (nil, false when absent) and returns the new value, nil to delete, or
//     an error to write nothing; store.ErrNoChange makes Update return nil,
//     any other error comes back unchanged. fn must not call Update.
//   - ScanFrom calls fn with copies of every key with prefix that is >=
//     start, in key order, stops at fn's first error and returns it
//     unchanged; fn may call Update.
//
// Every write the Queue makes is an Update, so every deletion is
// conditional on what was read; it never needs a blind Delete.
type KV interface {
	Get(key []byte) ([]byte, error)
	Update(key []byte, fn func(old []byte, exists bool) ([]byte, error)) error
	ScanFrom(prefix, start []byte, fn func(key, value []byte) error) error
}

var _ KV = (*store.Keyspace)(nil)

// MergeFunc returns a value that contains both a and b, two hints for key:
// for the node, the causal merge of two encoded sibling sets (resolved as
// key's bucket resolves them). a is the stored hint's value and b the value
// being added; merge may keep neither. It must be commutative,
// associative and idempotent, so that coalescing in any order, and adding
// the same write twice, store the same thing. It runs inside the store's
// per-key critical section: it must be quick and must not call the Queue.
type MergeFunc func(key, a, b []byte) ([]byte, error)

// SendFunc hands value, the coalesced writes for key, to a node and returns
// nil only once that node has durably merged it. RunOnce takes two: send,
// which delivers to target itself, and redirect, which merges into another
// replica of key in place of a target that has been down for Window. ctx
// carries the per-send Timeout. A failure that retrying cannot fix (the
// value itself is refused) should wrap ErrRejected: the hint is then dropped
// instead of blocking every later hint for target for good, since the queue
// never drops a hint for its age.
type SendFunc func(ctx context.Context, target string, key, value []byte) error

var (
	// ErrRejected is wrapped by a SendFunc error that means the hint will
	// never be accepted. Deliver and RunOnce drop the hint, count it in
	// TargetStats.Rejected and go on with the next one.
	ErrRejected = errors.New("hinted: hint rejected by target")
	// ErrBusy is returned by Deliver when a delivery to the same target is
	// already running; RunOnce skips such targets silently.
	ErrBusy = errors.New("hinted: delivery to target already running")
	// ErrInvalidArgument is wrapped by the error for an empty or oversized
	// target, an empty key or a nil callback.
	ErrInvalidArgument = errors.New("hinted: invalid argument")
)

// TargetStats describes one target's hints. Counters are cumulative since
// Open; Pending is exact.
type TargetStats struct {
	Pending    int    // hints stored for the target now
	Coalesced  uint64 // Adds merged into an existing hint instead of adding one
	Delivered  uint64 // sends the target acknowledged
	Redirected uint64 // hints merged into another replica because the target stayed down for Window
	Failed     uint64 // sends or redirects that failed; the hint was kept
	Rejected   uint64 // hints dropped because they were refused (ErrRejected)
	Corrupt    uint64 // undecodable records dropped; under target "" when even the key is undecodable
}

// pageSize is how many records one ScanFrom reads before the Queue works on
// them with no iterator open: an open iterator pins badger's memtables,
// tables and value-log files, and a delivery can take minutes.
const pageSize = 128

// Queue is a node's durable store of hints, grouped by target, and their
// delivery. It is safe for concurrent use.
type Queue struct {
	kv    KV
	cfg   Config
	merge MergeFunc
	now   func() time.Time
	lim   *limiter

	mu      sync.Mutex
	targets map[string]*targetState
}

// targetState is a target's statistics and bookkeeping, guarded by Queue.mu.
type targetState struct {
	TargetStats

	// down says RunOnce has found the target not alive, with hints pending,
	// at every pass since downSince (a Config.Monotonic reading). Memory
	// only: a restart forgets it, so the Window counts afresh and
	// redirection can only come later than the outage warrants, never
	// earlier.
	down      bool
	downSince time.Time

	delivering bool // a Deliver for the target is running
}

// removed records that one of the target's hints was deleted. A target left
// with none stops being watched: the next hint starts a new Window, because
// while nothing was pending RunOnce did not look at the target, which may
// have come back and gone down again unseen. Pending may dip to 0 briefly
// while an Add's count is still on its way; that too only resets the
// Window, the safe direction.
func (st *targetState) removed() {
	st.Pending--
	if st.Pending <= 0 {
		st.down = false
	}
}

// Open returns a Queue over kv, counting the hints already stored (one scan)
// and dropping corrupt records it finds, which it logs and counts. now is
// the wall clock that stamps each record with its creation time, which is
// stored with it but decides nothing: how long a target has been down is
// measured on Config.Monotonic. nil means time.Now.
func Open(kv KV, cfg Config, merge MergeFunc, now func() time.Time) (*Queue, error) {
	if kv == nil || merge == nil {
		return nil, fmt.Errorf("%w: nil KV or MergeFunc", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if now == nil {
		now = time.Now
	}
	// The limiter's clock and sleep must agree (see Config.Sleep).
	limNow, limSleep := now, cfg.Sleep
	if limSleep == nil {
		limNow, limSleep = time.Now, sleepCtx
	}
	q := &Queue{
		kv:      kv,
		cfg:     cfg,
		merge:   merge,
		now:     now,
		lim:     newLimiter(cfg.Rate, limNow, limSleep),
		targets: make(map[string]*targetState),
	}
	err := q.forEach(nil, func(k, raw []byte) error {
		target, _, kerr := splitKey(k)
		_, _, verr := decodeRecord(raw)
		if err := errors.Join(kerr, verr); err != nil {
			return q.dropCorrupt(k, raw, err, false)
		}
		q.count(target, func(st *targetState) { st.Pending++ })
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hinted: open: %w", err)
	}
	return q, nil
}

// state returns target's state, creating it. q.mu must be held.
func (q *Queue) state(target string) *targetState {
	st := q.targets[target]
	if st == nil {
		st = &targetState{}
		q.targets[target] = st
	}
	return st
}

// count applies fn to target's state under q.mu.
func (q *Queue) count(target string, fn func(*targetState)) {
	q.mu.Lock()
	fn(q.state(target))
	q.mu.Unlock()
}

func checkTarget(target string) error {
	switch {
	case target == "":
		return fmt.Errorf("%w: empty target", ErrInvalidArgument)
	case len(target) > MaxTargetLen:
		return fmt.Errorf("%w: target of %d bytes exceeds %d", ErrInvalidArgument, len(target), MaxTargetLen)
	}
	return nil
}

func checkArgs(target string, key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", ErrInvalidArgument)
	}
	return checkTarget(target)
}

// addOutcome is what Add did to the stored record.
type addOutcome int

const (
	addCreated addOutcome = iota
	addCoalesced
	addReplacedCorrupt
)

// Add stores value as a hint for (target, key), merging it into the hint
// already stored for them, if any; the merged hint keeps the earliest
// creation time, that of the first write. A corrupt stored hint is replaced
// instead of merged into, and counted as corrupt. When Add returns nil the
// hint is as durable as a data write to the store (see store's Durability).
// A merge error is returned wrapped, and nothing is written. value is not
// retained.
func (q *Queue) Add(target string, key, value []byte) error {
	if err := checkArgs(target, key); err != nil {
		return err
	}
	now := q.now().UnixMilli()
	var outcome addOutcome
	err := q.kv.Update(hintKey(target, key), func(old []byte, exists bool) ([]byte, error) {
		outcome = addCreated
		if !exists {
			return encodeRecord(now, value), nil
		}
		created, ov, err := decodeRecord(old)
		if err != nil {
			outcome = addReplacedCorrupt
			return encodeRecord(now, value), nil
		}
		merged, err := q.merge(key, ov, value)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		outcome = addCoalesced
		if bytes.Equal(merged, ov) {
			return nil, store.ErrNoChange // already contained: save a write
		}
		// The earliest creation time; min only matters if the clock went
		// back since the hint was first stored.
		return encodeRecord(min(created, now), merged), nil
	})
	if err != nil {
		return fmt.Errorf("hinted: add hint for %q: %w", target, err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.state(target)
	switch outcome {
	case addCreated:
		st.Pending++
	case addCoalesced:
		st.Coalesced++
	case addReplacedCorrupt:
		st.Corrupt++
		q.cfg.Logger.Warn("hinted: replaced a corrupt hint", "target", target, "key", logKey(key))
	}
	return nil
}

// Get returns the value of the hint for (target, key), so a fallback can
// answer reads for target. It reports a corrupt hint as an error wrapping
// ErrCorrupt. The value is a copy.
func (q *Queue) Get(target string, key []byte) ([]byte, bool, error) {
	if err := checkArgs(target, key); err != nil {
		return nil, false, err
	}
	raw, err := q.kv.Get(hintKey(target, key))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("hinted: get hint for %q: %w", target, err)
	}
	_, v, err := decodeRecord(raw)
	if err != nil {
		return nil, false, fmt.Errorf("hinted: get hint for %q: %w", target, err)
	}
	return v, true, nil
}

// Targets returns the targets with pending hints, sorted.
func (q *Queue) Targets() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for target, st := range q.targets {
		if st.Pending > 0 {
			out = append(out, target)
		}
	}
	slices.Sort(out)
	return out
}

// Stats returns a snapshot of every target's statistics since Open,
// including targets with nothing pending any more.
func (q *Queue) Stats() map[string]TargetStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]TargetStats, len(q.targets))
	for target, st := range q.targets {
		out[target] = st.TargetStats
	}
	return out
}

// logKey formats a key for a log line: quoted, at most 64 bytes of it.
func logKey(k []byte) string {
	if len(k) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", k[:64], len(k))
	}
	return fmt.Sprintf("%q", k)
}

// forEach calls fn for every record under prefix in key order, reading
// pageSize records at a time and calling fn with no scan open, so fn may do
// slow work. fn's error stops it and is returned unchanged. Records written
// behind the current position during the walk are not seen.
func (q *Queue) forEach(prefix []byte, fn func(k, raw []byte) error) error {
	type record struct{ k, raw []byte }
	errFull := errors.New("page full")
	page := make([]record, 0, pageSize)
	start := prefix
	for {
		page = page[:0]
		err := q.kv.ScanFrom(prefix, start, func(k, v []byte) error {
			page = append(page, record{k, v})
			if len(page) == pageSize {
				return errFull
			}
			return nil
		})
		full := errors.Is(err, errFull)
		if err != nil && !full {
			return err
		}
		if full {
			start = append(slices.Clip(page[len(page)-1].k), 0) // resume after this page
		}
		for i, r := range page {
			if err := fn(r.k, r.raw); err != nil {
				return err
			}
			page[i] = record{} // let the value go before the next page
		}
		if !full {
			return nil
		}
	}
}
