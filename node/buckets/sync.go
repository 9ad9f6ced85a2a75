package buckets

import (
	"context"
	"errors"
	"time"

	"github.com/dynkv/dynkv/node/membership"
)

// Start runs the sync loop: a pass at once, then one whenever Poke is
// called and every Interval. announced is the digest the node's first
// gossip message carried (its start tags). Calling it again does nothing.
func (m *Manager) Start(announced string) {
	m.start.Do(func() {
		m.published.CompareAndSwap(nil, &announced)
		m.loop.Add(1)
		go func() {
			defer m.loop.Done()
			m.run(m.ctx)
		}()
		m.Poke()
	})
}

// Stop ends the loop and any pass in progress; Wait waits for it. The
// node stops the loop before its store closes.
func (m *Manager) Stop() { m.cancel() }

// Wait returns once the loop ended (after Stop).
func (m *Manager) Wait() { m.loop.Wait() }

// Poke asks for a sync pass soon; it never blocks, so the membership's
// change callback may call it.
func (m *Manager) Poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) run(ctx context.Context) {
	var tick <-chan time.Time // nil: no interval, passes only when poked
	if m.cfg.Interval > 0 {
		t := m.cfg.Time.NewTicker(m.cfg.Interval)
		defer t.Stop()
		tick = t.C()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-tick:
		}
		if _, err := m.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			m.log.Debug("bucket registry sync pass incomplete", "err", err)
		}
	}
}

// SyncOnce exchanges registries with every member whose announced digest
// differs from this node's (one that announces none runs a version without
// buckets and is skipped), and re-announces this node's digest if the last
// announcement failed. It returns how many exchanges changed this node's
// registry.
func (m *Manager) SyncOnce(ctx context.Context) (int, error) {
	m.announce()
	changed := 0
	var errs []error
	for _, p := range m.cfg.Members() {
		theirs := p.Tags[membership.TagBuckets]
		if theirs == "" || theirs == m.Digest() {
			continue
		}
		if ctx.Err() != nil {
			return changed, ctx.Err()
		}
		ok, err := m.exchange(ctx, p)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			changed++
		}
	}
	return changed, errors.Join(errs...)
}

// exchange sends this node's registry to p and merges p's answer.
func (m *Manager) exchange(ctx context.Context, p membership.Member) (bool, error) {
	m.stats.Pulls.Add(1)
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PushTimeout)
	defer cancel()
	theirs, err := m.cfg.Peers.BucketsMerge(ctx, p, m.Registry())
	if err != nil {
		m.stats.PullFailures.Add(1)
		return false, err
	}
	changed, err := m.Merge(theirs)
	if err != nil {
		m.stats.PullFailures.Add(1)
		return false, err
	}
	if changed {
		m.stats.PullsChanged.Add(1)
	}
	return changed, nil
}
