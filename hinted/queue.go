package hinted

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
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

// MergeFunc returns a value that contains both a and b: for the node, the
// causal merge of two encoded sibling sets. a is the stored hint's value and
// b the value being added; merge may keep neither. It must be commutative,
// associative and idempotent, so that coalescing in any order, and adding
// the same write twice, store the same thing. It runs inside the store's
// per-key critical section: it must be quick and must not call the Queue.
type MergeFunc func(a, b []byte) ([]byte, error)

// SendFunc delivers value, the coalesced writes for key, to target, and
// returns nil only once target has durably merged it. ctx carries the
// per-send Timeout. A failure that retrying cannot fix (the target refuses
// the value itself) should wrap ErrRejected: the hint is then dropped
// instead of blocking every later hint for target until it expires.
type SendFunc func(ctx context.Context, target string, key, value []byte) error

var (
	// ErrRejected is wrapped by a SendFunc error that means target will
	// never accept this hint. Deliver drops the hint, counts it in
	// TargetStats.Rejected and goes on with the next one.
	ErrRejected = errors.New("hinted: hint rejected by target")
	// ErrBusy is returned by Deliver when a delivery to the same target is
	// already running; RunOnce skips such targets silently.
	ErrBusy = errors.New("hinted: delivery to target already running")
	// ErrInvalidArgument is wrapped by the error for an empty or oversized
	// target or an empty key.
	ErrInvalidArgument = errors.New("hinted: invalid argument")
)

// TargetStats describes one target's hints. Counters are cumulative since
// Open; Pending is exact.
type TargetStats struct {
	Pending   int    // hints stored for the target now
	Coalesced uint64 // Adds merged into an existing hint instead of adding one
	Delivered uint64 // sends the target acknowledged
	Failed    uint64 // sends that failed; the hint was kept
	Dropped   uint64 // hints expired (older than Window), left to anti-entropy
	Rejected  uint64 // hints dropped because the target refused them (ErrRejected)
	Corrupt   uint64 // undecodable records dropped; under target "" when even the key is undecodable
}

// pageSize is how many records one ScanFrom reads before the Queue works on
// them with no iterator open: an open iterator pins badger's memtables,
// tables and value-log files, and a delivery can take minutes.
const pageSize = 128

// expireRescanDivisor bounds how often Expire rescans a target whose hints
// keep expiring (a target down for longer than Window while writes keep
// coming): at most once per Window/expireRescanDivisor. Hints past the
// window are already treated as absent; this only delays deleting them.
const expireRescanDivisor = 16

// Queue is a node's durable store of hints, grouped by target, and their
// delivery. It is safe for concurrent use.
type Queue struct {
	kv    KV
	cfg   Config
	merge MergeFunc
	now   func() time.Time
	lim   *limiter

	expireMu sync.Mutex // one Expire at a time

	mu      sync.Mutex
	targets map[string]*targetState
}

// targetState is a target's statistics and bookkeeping, guarded by Queue.mu.
type targetState struct {
	TargetStats

	// oldest is a lower bound (ms) on the creation time of the target's
	// hints, math.MaxInt64 for none: Expire skips a target until oldest is
	// past the window. Deletions only raise the true minimum, so it stays a
	// lower bound without being touched (even when the target drains: the
	// counters of concurrent Adds and deletes may be applied out of order,
	// so Pending reaching 0 does not prove there is no hint); only Expire
	// raises it, to what a full scan found.
	oldest int64
	// lastScan is when Expire last scanned the target (ms); scanned says
	// whether it ever did.
	lastScan int64
	scanned  bool
	// scanning is set while Expire scans the target; minDuring collects the
	// creation times of hints created meanwhile, which the scan may miss.
	scanning  bool
	minDuring int64

	delivering bool // a Deliver for the target is running
}

// noteCreated records that a record created at ms was stored for the
// target, as a new record unless replaced is set.
func (st *targetState) noteCreated(ms int64, replaced bool) {
	st.oldest = min(st.oldest, ms)
	if !replaced {
		st.Pending++
	}
	if st.scanning {
		st.minDuring = min(st.minDuring, ms)
	}
}

// Open returns a Queue over kv, counting the hints already stored (one scan)
// and dropping corrupt records it finds, which it logs and counts. now is
// the clock for creation times and expiry; nil means time.Now.
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
		created, _, verr := decodeRecord(raw)
		if err := errors.Join(kerr, verr); err != nil {
			return q.dropCorrupt(k, raw, err, false)
		}
		q.count(target, func(st *targetState) { st.noteCreated(created, false) })
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
		st = &targetState{oldest: math.MaxInt64}
		q.targets[target] = st
	}
	return st
}

func (q *Queue) nowMs() int64 { return q.now().UnixMilli() }

// expired reports whether a hint created at created (ms) is past the window
// at now (ms).
func (q *Queue) expired(created, now int64) bool {
	return now-created >= q.cfg.Window.Milliseconds()
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
	addReplacedExpired
	addReplacedCorrupt
)

// Add stores value as a hint for (target, key), merging it into the hint
// already stored for them, if any; the merged hint keeps the earliest
// creation time, that of the first write (see Config.Window). An expired or corrupt stored hint
// is replaced instead of merged into, and counted as dropped or corrupt.
// When Add returns nil the hint is as durable as a data write to the store
// (see store's Durability). A merge error is returned wrapped, and nothing
// is written. value is not retained.
func (q *Queue) Add(target string, key, value []byte) error {
	if err := checkArgs(target, key); err != nil {
		return err
	}
	now := q.nowMs()
	var outcome addOutcome
	err := q.kv.Update(hintKey(target, key), func(old []byte, exists bool) ([]byte, error) {
		outcome = addCreated
		if !exists {
			return encodeRecord(now, value), nil
		}
		created, ov, err := decodeRecord(old)
		switch {
		case err != nil:
			outcome = addReplacedCorrupt
			return encodeRecord(now, value), nil
		case q.expired(created, now):
			outcome = addReplacedExpired
			return encodeRecord(now, value), nil
		}
		merged, err := q.merge(ov, value)
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
		st.noteCreated(now, false)
	case addCoalesced:
		st.Coalesced++
		st.noteCreated(now, true) // only matters if the clock went back
	case addReplacedExpired:
		st.Dropped++
		st.noteCreated(now, true)
	case addReplacedCorrupt:
		st.Corrupt++
		st.noteCreated(now, true)
		q.cfg.Logger.Warn("hinted: replaced a corrupt hint", "target", target, "key", logKey(key))
	}
	return nil
}

// Get returns the value of the hint for (target, key), so a fallback can
// answer reads for target. It reports an expired hint as absent and a
// corrupt one as an error wrapping ErrCorrupt. The value is a copy.
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
	created, v, err := decodeRecord(raw)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("hinted: get hint for %q: %w", target, err)
	case q.expired(created, q.nowMs()):
		return nil, false, nil
	}
	return v, true, nil
}

// Deliver sends target's hints in key order, each after waiting for the
// shared rate limiter, and deletes each one only after send returned nil
// and only if the stored record is byte-for-byte the one sent (a write
// coalesced into it meanwhile keeps it, for the next delivery). Expired
// hints are dropped instead of sent, corrupt ones dropped and counted,
// rejected ones (ErrRejected) dropped and counted.
//
// It stops at the first other send failure, returning it wrapped, and at
// ctx's end, returning ctx.Err(); delivered counts the sends target
// acknowledged. Hints added while Deliver runs may or may not be sent by
// it. A second Deliver to the same target while one runs returns ErrBusy.
func (q *Queue) Deliver(ctx context.Context, target string, send SendFunc) (delivered int, err error) {
	if err := checkTarget(target); err != nil {
		return 0, err
	}
	q.mu.Lock()
	st := q.state(target)
	if st.delivering {
		q.mu.Unlock()
		return 0, ErrBusy
	}
	st.delivering = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.targets[target].delivering = false
		q.mu.Unlock()
	}()

	errStop := errors.New("stop") // ends forEach with err, already wrapped
	var stopErr error
	err = q.forEach(targetPrefix(target), func(k, raw []byte) error {
		if err := ctx.Err(); err != nil {
			stopErr = err
			return errStop
		}
		_, key, kerr := splitKey(k)
		created, value, verr := decodeRecord(raw)
		if err := errors.Join(kerr, verr); err != nil {
			return q.dropCorrupt(k, raw, err, kerr == nil)
		}
		if now := q.nowMs(); q.expired(created, now) {
			_, err := q.dropExpired(target, k, now)
			return err
		}
		if err := q.lim.wait(ctx); err != nil {
			stopErr = err
			return errStop
		}
		sctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
		err := send(sctx, target, key, value)
		cancel()
		switch {
		case err == nil:
			delivered++
			q.count(target, func(st *targetState) { st.Delivered++ })
			return q.deleteIfUnchanged(target, k, raw, nil)
		case errors.Is(err, ErrRejected):
			q.cfg.Logger.Warn("hinted: target rejected a hint; dropped", "target", target, "key", logKey(key), "err", err)
			return q.deleteIfUnchanged(target, k, raw, func(st *targetState) { st.Rejected++ })
		case ctx.Err() != nil:
			stopErr = ctx.Err() // cancelled, not a failure of the target
			return errStop
		default:
			q.count(target, func(st *targetState) { st.Failed++ })
			stopErr = fmt.Errorf("hinted: deliver to %q: %w", target, err)
			return errStop
		}
	})
	switch {
	case errors.Is(err, errStop):
		return delivered, stopErr
	case err != nil:
		return delivered, fmt.Errorf("hinted: deliver to %q: %w", target, err)
	}
	return delivered, nil
}

// count applies fn to target's state under q.mu.
func (q *Queue) count(target string, fn func(*targetState)) {
	q.mu.Lock()
	fn(q.state(target))
	q.mu.Unlock()
}

// deleteIfUnchanged deletes k if its stored record is still raw, then
// decrements target's Pending and applies also, if non-nil.
func (q *Queue) deleteIfUnchanged(target string, k, raw []byte, also func(*targetState)) error {
	deleted := false
	err := q.kv.Update(k, func(old []byte, exists bool) ([]byte, error) {
		deleted = exists && bytes.Equal(old, raw)
		if !deleted {
			return nil, store.ErrNoChange
		}
		return nil, nil
	})
	if err != nil || !deleted {
		return err
	}
	q.count(target, func(st *targetState) {
		st.Pending--
		if also != nil {
			also(st)
		}
	})
	return nil
}

// dropExpired deletes k if its stored record is expired at now (it may have
// been replaced by a fresh one since it was read) and counts it.
func (q *Queue) dropExpired(target string, k []byte, now int64) (bool, error) {
	deleted := false
	err := q.kv.Update(k, func(old []byte, exists bool) ([]byte, error) {
		deleted = false
		if !exists {
			return nil, store.ErrNoChange
		}
		created, _, err := decodeRecord(old)
		if err != nil || !q.expired(created, now) {
			return nil, store.ErrNoChange // corrupt ones are dropCorrupt's
		}
		deleted = true
		return nil, nil
	})
	if err != nil || !deleted {
		return false, err
	}
	q.count(target, func(st *targetState) {
		st.Pending--
		st.Dropped++
	})
	return true, nil
}

// dropCorrupt deletes the undecodable record raw at k if it is still there,
// logs it and counts it under its target, or under "" when the key itself
// is undecodable. counted says whether the record is included in Pending:
// records found corrupt by Open never are, records that Add stored always
// are.
func (q *Queue) dropCorrupt(k, raw []byte, why error, counted bool) error {
	deleted := false
	err := q.kv.Update(k, func(old []byte, exists bool) ([]byte, error) {
		deleted = exists && bytes.Equal(old, raw)
		if !deleted {
			return nil, store.ErrNoChange
		}
		return nil, nil
	})
	if err != nil || !deleted {
		return err
	}
	target, _, kerr := splitKey(k)
	q.cfg.Logger.Warn("hinted: dropped a corrupt hint record", "target", target, "record_key", logKey(k), "err", why)
	if kerr != nil {
		target = ""
	}
	q.count(target, func(st *targetState) {
		if counted {
			st.Pending--
		}
		st.Corrupt++
	})
	return nil
}

// Expire deletes the hints past the window and returns how many it
// deleted. It scans only targets whose oldest hint may be expired, and each
// such target at most once per Window/16 (expired hints are already
// invisible; this bounds the cost for a target that stays down).
func (q *Queue) Expire() (int, error) {
	q.expireMu.Lock()
	defer q.expireMu.Unlock()
	now := q.nowMs()
	rescan := q.cfg.Window.Milliseconds() / expireRescanDivisor

	var due []string
	q.mu.Lock()
	for target, st := range q.targets {
		if st.Pending > 0 && q.expired(st.oldest, now) && (!st.scanned || now-st.lastScan >= rescan) {
			due = append(due, target)
			st.scanning, st.minDuring = true, math.MaxInt64
		}
	}
	q.mu.Unlock()
	slices.Sort(due)

	total := 0
	var errs []error
	for _, target := range due {
		n, oldest, err := q.expireTarget(target, now)
		total += n
		q.mu.Lock()
		st := q.targets[target]
		st.scanning = false
		if err == nil {
			st.scanned, st.lastScan = true, now
			// Every hint is either seen by the scan or created during it.
			st.oldest = min(oldest, st.minDuring)
		}
		q.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("hinted: expire %q: %w", target, err))
		}
	}
	return total, errors.Join(errs...)
}

// expireTarget drops target's expired hints, returning how many and the
// oldest creation time among those left (math.MaxInt64 if none).
func (q *Queue) expireTarget(target string, now int64) (n int, oldest int64, err error) {
	oldest = math.MaxInt64
	err = q.forEach(targetPrefix(target), func(k, raw []byte) error {
		_, _, kerr := splitKey(k)
		created, _, verr := decodeRecord(raw)
		if err := errors.Join(kerr, verr); err != nil {
			return q.dropCorrupt(k, raw, err, kerr == nil)
		}
		if !q.expired(created, now) {
			oldest = min(oldest, created)
			return nil
		}
		dropped, err := q.dropExpired(target, k, now)
		if dropped {
			n++
		}
		return err
	})
	return n, oldest, err
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

// RunOnce is one pass of the background loop: Expire, then Deliver to every
// target with pending hints for which alive returns true, at most
// Config.Concurrency targets at a time, all sharing the rate limit. alive
// is called from RunOnce's goroutine, once per target. It returns when
// every delivery it started has returned, with their errors joined (a
// target found down again is one); targets already being delivered to are
// skipped.
func (q *Queue) RunOnce(ctx context.Context, alive func(target string) bool, send SendFunc) error {
	var errs []error
	if _, err := q.Expire(); err != nil {
		errs = append(errs, err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, q.cfg.Concurrency)
	)
loop:
	for _, target := range q.Targets() {
		if !alive(target) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := q.Deliver(ctx, target, send)
			if err != nil && !errors.Is(err, ErrBusy) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run calls RunOnce for every value received from ticks until ctx is done
// or ticks is closed, logging failed passes at debug level (Stats counts
// them). The node passes a time.Ticker's channel; tests pass their own.
func (q *Queue) Run(ctx context.Context, ticks <-chan time.Time, alive func(string) bool, send SendFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ticks:
			if !ok {
				return
			}
			if err := q.RunOnce(ctx, alive, send); err != nil && ctx.Err() == nil {
				q.cfg.Logger.Debug("hinted: delivery pass", "err", err)
			}
		}
	}
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
