package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// aliveForHints reports whether a hint target should be offered its hints.
func (n *Node) aliveForHints(target string) bool {
	m, ok := n.cluster.View().Members[target]
	return ok && n.cluster.Usable(m)
}

// sendHint delivers one hint: a merge into the replica it was kept for.
func (n *Node) sendHint(ctx context.Context, target string, key, value []byte) error {
	m, ok := n.cluster.View().Members[target]
	if !ok {
		return fmt.Errorf("hint target %s is not a member", target)
	}
	body := wire.EncodeMerge(key, value)
	err := n.peers.Merge(ctx, membership.Target{Member: m}, body)
	var re *wire.RemoteError
	if errors.As(err, &re) && re.Code == wire.CodeBadMessage {
		// The target will never take it; keeping it would block every
		// later hint for the target until the window ends.
		return fmt.Errorf("%w: %v", hinted.ErrRejected, err)
	}
	return err
}

// DeliverHintsOnce offers every pending hint to its target if the target is
// up, and hands the hints of a target down for longer than HintWindow to
// another replica of each key. The background loop calls it on a timer;
// tests call it directly.
func (n *Node) DeliverHintsOnce(ctx context.Context) error {
	err := n.replica.Hints().RunOnce(ctx, n.aliveForHints, n.sendHint)
	n.redirectStaleHints(ctx)
	return err
}

// redirectStaleHints is what hint expiry means here. Dropping a hint after
// the window is only safe if a replica holds what it carries, and with W met
// by fallbacks alone none may: so instead the hint is merged into another
// reachable replica of its key, from where anti-entropy brings the target
// up to date when it returns, and only then deleted. A target's window
// counts from when this node first found it down with hints pending (reset
// on restart: expiry can only come later, never earlier).
func (n *Node) redirectStaleHints(ctx context.Context) {
	now := n.cfg.Monotonic()
	n.hintDownMu.Lock()
	var stale []string
	for _, target := range n.replica.Hints().Targets() {
		if n.aliveForHints(target) {
			delete(n.hintDownSince, target)
			continue
		}
		since, ok := n.hintDownSince[target]
		if !ok {
			n.hintDownSince[target] = now
			continue
		}
		if now.Sub(since) >= n.cfg.HintWindow {
			stale = append(stale, target)
		}
	}
	n.hintDownMu.Unlock()
	for _, target := range stale {
		moved, err := n.replica.Hints().Deliver(ctx, target, n.sendToOtherReplica)
		n.metrics.hintsRedirected.Add(float64(moved))
		if err != nil {
			n.log.Debug("could not hand stale hints to another replica; keeping them", "target", target, "moved", moved, "err", err)
		}
	}
}

// sendToOtherReplica merges a hint into the first reachable replica of its
// key other than the target.
func (n *Node) sendToOtherReplica(ctx context.Context, target string, key, value []byte) error {
	v := n.cluster.View()
	body := wire.EncodeMerge(key, value)
	var errs []error
	for _, id := range v.Ring.PreferenceList(v.Ring.PartitionOf(key)) {
		m, ok := v.Members[id]
		if id == target || !ok || !n.cluster.Usable(m) {
			continue
		}
		if err := n.peers.Merge(ctx, membership.Target{Member: m}, body); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return fmt.Errorf("no other replica of the key reachable: %w", errors.Join(errs...))
}

// HintStats reports the hint queue's per-target counters.
func (n *Node) HintStats() map[string]hinted.TargetStats { return n.replica.Hints().Stats() }

// runLoops starts the background work that runs on timers.
func (n *Node) runLoops() {
	if n.cfg.HintInterval > 0 {
		t := time.NewTicker(n.cfg.HintInterval)
		n.loops.Add(1)
		go func() {
			defer n.loops.Done()
			defer t.Stop()
			for {
				select {
				case <-n.loopCtx.Done():
					return
				case <-t.C:
				}
				if err := n.DeliverHintsOnce(n.loopCtx); err != nil && n.loopCtx.Err() == nil {
					n.log.Debug("hint delivery pass incomplete", "err", err)
				}
			}
		}()
	}
	if n.cfg.AntiEntropyInterval > 0 {
		n.loops.Add(1)
		go func() {
			defer n.loops.Done()
			for {
				t := time.NewTimer(n.cfg.AntiEntropyInterval)
				select {
				case <-n.loopCtx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				if st, err := n.AntiEntropyOnce(n.loopCtx); err != nil && n.loopCtx.Err() == nil {
					n.log.Debug("anti-entropy pass incomplete", "err", err, "repaired", st.KeysRepaired)
				}
				if _, err := n.HandoffOnce(n.loopCtx); err != nil && n.loopCtx.Err() == nil {
					n.log.Debug("handoff pass incomplete", "err", err)
				}
				if _, err := n.ReapTombstonesOnce(n.loopCtx); err != nil && n.loopCtx.Err() == nil {
					n.log.Debug("tombstone reaping incomplete", "err", err)
				}
			}
		}()
	}
}

// hintCollector exports the hint queue's counters per target.
type hintCollector struct{ n *Node }

var (
	hintPendingDesc   = prometheus.NewDesc("dynkv_hints_pending", "Hints waiting for their target.", []string{"target"}, nil)
	hintDeliveredDesc = prometheus.NewDesc("dynkv_hints_delivered_total", "Hints delivered and acknowledged.", []string{"target"}, nil)
	hintDroppedDesc   = prometheus.NewDesc("dynkv_hints_dropped_total", "Hints dropped after the hint window.", []string{"target"}, nil)
)

func (c hintCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hintPendingDesc
	ch <- hintDeliveredDesc
	ch <- hintDroppedDesc
}

func (c hintCollector) Collect(ch chan<- prometheus.Metric) {
	if c.n.replica == nil {
		return
	}
	for target, st := range c.n.replica.Hints().Stats() {
		ch <- prometheus.MustNewConstMetric(hintPendingDesc, prometheus.GaugeValue, float64(st.Pending), target)
		ch <- prometheus.MustNewConstMetric(hintDeliveredDesc, prometheus.CounterValue, float64(st.Delivered), target)
		ch <- prometheus.MustNewConstMetric(hintDroppedDesc, prometheus.CounterValue, float64(st.Dropped), target)
	}
}
