package hinted

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dynkv/dynkv/store"
)

// pass is what a delivery does with the hints it sends: deliver them to
// their target, or redirect them to another replica of their key.
type pass uint8

const (
	delivering  pass = iota // to the hints' target
	redirecting             // to another replica of each hint's key
)

// what names the pass in errors and logs.
func (p pass) what() string {
	if p == redirecting {
		return "redirect hints of"
	}
	return "deliver to"
}

// rejectedMsg is the log line for a hint dropped because it was refused.
func (p pass) rejectedMsg() string {
	if p == redirecting {
		return "hinted: replica rejected a redirected hint; dropped"
	}
	return "hinted: target rejected a hint; dropped"
}

// sent counts one hint the pass moved; Delivered and Redirected are kept
// apart so that metrics tell a target that caught up from one given up on.
func (p pass) sent(st *targetState) {
	if p == redirecting {
		st.Redirected++
	} else {
		st.Delivered++
	}
}

// Deliver sends target's hints in key order, each after waiting for the
// shared rate limiter, and deletes each one only after send returned nil
// and only if the stored record is byte-for-byte the one sent (a write
// coalesced into it meanwhile keeps it, for the next delivery). Corrupt
// hints are dropped and counted, rejected ones (ErrRejected) dropped and
// counted; no hint is ever dropped for its age.
//
// It stops at the first other send failure, returning it wrapped, and at
// ctx's end, returning ctx.Err(); delivered counts the sends target
// acknowledged (TargetStats.Delivered). Hints added while Deliver runs may
// or may not be sent by it. A second Deliver to the same target while one
// runs, including RunOnce's redirection, returns ErrBusy.
func (q *Queue) Deliver(ctx context.Context, target string, send SendFunc) (delivered int, err error) {
	return q.deliver(ctx, target, send, delivering)
}

// deliver is Deliver for either pass; p decides only what is counted and
// how errors read, so a redirect keeps every guarantee of a delivery.
func (q *Queue) deliver(ctx context.Context, target string, send SendFunc, p pass) (moved int, err error) {
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

	var sends sync.WaitGroup
	var mu sync.Mutex // guards stopErr and moved
	var stopErr error
	stopped := func() bool { mu.Lock(); defer mu.Unlock(); return stopErr != nil }
	slots := make(chan struct{}, q.cfg.InFlight)
	errStop := errors.New("stop") // ends forEach with err, already wrapped
	err = q.forEach(targetPrefix(target), func(k, raw []byte) error {
		// A slot first, so that a failure of the send before is seen.
		slots <- struct{}{}
		if err := ctx.Err(); err != nil {
			mu.Lock()
			stopErr = cmp.Or(stopErr, err)
			mu.Unlock()
		}
		if stopped() {
			<-slots
			return errStop
		}
		_, key, kerr := splitKey(k)
		_, value, verr := decodeRecord(raw)
		if err := errors.Join(kerr, verr); err != nil {
			<-slots
			return q.dropCorrupt(k, raw, err, kerr == nil)
		}
		// forEach's records are the caller's to keep, so the send may
		// outlive this call.
		sends.Go(func() {
			defer func() { <-slots }()
			ok, err := q.sendOne(ctx, target, k, key, raw, value, send, p)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				moved++ // acknowledged, even if the delete then failed
			}
			if err != nil && stopErr == nil {
				stopErr = err
			}
		})
		return nil
	})
	sends.Wait()
	switch {
	case errors.Is(err, errStop) || err == nil && stopErr != nil:
		return moved, stopErr
	case err != nil:
		return moved, fmt.Errorf("hinted: %s %q: %w", p.what(), target, err)
	}
	return moved, nil
}

// sendOne sends one decoded hint (record raw at k) and deletes it if the
// send succeeded or was rejected. ok says it was acknowledged; an error
// stops the delivery: ctx's end, a send failure or a failed delete (the
// hint stays, to be sent again: at least once, never lost), the last two
// wrapped.
func (q *Queue) sendOne(ctx context.Context, target string, k, key, raw, value []byte, send SendFunc, p pass) (ok bool, err error) {
	if err := q.lim.wait(ctx); err != nil {
		return false, err
	}
	sctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	err = send(sctx, target, key, value)
	cancel()
	wrap := func(err error) error {
		if err != nil {
			return fmt.Errorf("hinted: %s %q: %w", p.what(), target, err)
		}
		return nil
	}
	switch {
	case err == nil:
		q.count(target, p.sent)
		return true, wrap(q.deleteIfUnchanged(target, k, raw, nil))
	case errors.Is(err, ErrRejected):
		q.cfg.Logger.Warn(p.rejectedMsg(), "target", target, "key", logKey(key), "err", err)
		return false, wrap(q.deleteIfUnchanged(target, k, raw, func(st *targetState) { st.Rejected++ }))
	case ctx.Err() != nil:
		return false, ctx.Err() // cancelled, not a failure of the target
	default:
		q.count(target, func(st *targetState) { st.Failed++ })
		return false, wrap(err)
	}
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
		st.removed()
		if also != nil {
			also(st)
		}
	})
	return nil
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
			st.removed()
		}
		st.Corrupt++
	})
	return nil
}

// RunOnce is one pass of the background loop over every target with
// pending hints. alive is called from RunOnce's goroutine, once per target.
//
//   - alive(target): its down-since is forgotten and its hints go to it
//     through send, as Deliver does.
//   - not alive: the first pass that finds it so records down-since, a
//     Config.Monotonic reading; once Monotonic() - down-since >= Window its
//     hints go through redirect instead, which must merge each into another
//     replica of its key. A redirected hint is deleted only after redirect
//     returned nil, under every guarantee of Deliver (compare-and-delete,
//     ErrRejected, ErrBusy, rate limit), and counted in
//     TargetStats.Redirected, not Delivered. A failed redirect keeps the
//     hint and is retried by the next pass.
//
// Redirecting instead of dropping matters because a hint can be the only
// copy of an acknowledged write (W met by fallbacks alone); from the other
// replica anti-entropy carries it to the target once it is back. The
// down-since lives in memory only and is forgotten when the target is
// found alive or has no hints left, so a restart, a recovery or an unseen
// recovery makes the Window count afresh: redirection can come later than
// Window after the outage began, never earlier. It is judged only at
// passes, so it happens at the first pass at or after Window.
//
// At most Config.Concurrency targets are worked on at once, deliveries and
// redirects together, all sharing the rate limit; targets already being
// delivered to are skipped. RunOnce returns when every delivery it started
// has returned, with their errors joined (a target found down again is
// one), and ctx's error if it ended.
func (q *Queue) RunOnce(ctx context.Context, alive func(target string) bool, send, redirect SendFunc) error {
	if alive == nil || send == nil || redirect == nil {
		return fmt.Errorf("%w: nil alive, send or redirect", ErrInvalidArgument)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, q.cfg.Concurrency)
	)
loop:
	for _, target := range q.Targets() {
		p, due := q.passFor(target, alive(target))
		if !due {
			continue
		}
		fn := send
		if p == redirecting {
			fn = redirect
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := q.deliver(ctx, target, fn, p)
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

// passFor records what RunOnce found of target (up says alive) and returns
// the pass it is due for: delivery when up, redirection once it has been
// found down at every pass for Window, none (due false) before that.
func (q *Queue) passFor(target string, up bool) (p pass, due bool) {
	now := q.cfg.Monotonic()
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.state(target)
	if up {
		st.down = false
		return delivering, true
	}
	if !st.down {
		st.down, st.downSince = true, now
	}
	return redirecting, now.Sub(st.downSince) >= q.cfg.Window
}
