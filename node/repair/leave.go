package repair

import (
	"context"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/node/membership"
)

// Leaving reports whether this node is handing everything off to leave.
func (rp *Repair) Leaving() bool { return rp.leaving.Load() }

// Left reports whether a Leave completed.
func (rp *Repair) Left() bool { return rp.left.Load() }

// resumeLeave continues a leave a crash interrupted.
func (rp *Repair) resumeLeave() {
	if !rp.replica.WasLeaving() {
		return
	}
	rp.log.Info("resuming a leave that was interrupted")
	if err := rp.Leave(); err != nil {
		rp.log.Error("cannot resume leaving", "err", err)
	}
}

// Leave hands this node's data off and then leaves the cluster for good:
// it announces that it is leaving (everyone's ring drops it), hands off
// every partition and its hints, and leaves gossip once nothing is left.
// It returns at once; progress shows in Handoffs and the logs.
//
// The intent is stored first, so a node that crashes while leaving resumes
// the leave when it starts again.
func (rp *Repair) Leave() error {
	if !rp.leaving.CompareAndSwap(false, true) {
		return nil
	}
	if err := rp.replica.RecordLeaving(); err != nil {
		rp.leaving.Store(false)
		return fmt.Errorf("record leave: %w", err)
	}
	if err := rp.announcer.SetTag(membership.TagState, membership.StateLeaving); err != nil {
		rp.leaving.Store(false)
		return fmt.Errorf("announce leave: %w", err)
	}
	rp.goLoop(rp.leave)
	return nil
}

// Leave's retries back off from leaveFirstRetry to leaveMaxRetry.
const (
	leaveFirstRetry = 100 * time.Millisecond
	leaveMaxRetry   = 5 * time.Second
)

func (rp *Repair) leave(ctx context.Context) {
	for wait := leaveFirstRetry; ; wait = min(2*wait, leaveMaxRetry) {
		if rp.handOffEverything(ctx) {
			break
		}
		t := rp.cfg.Time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
	if err := rp.announcer.Leave(); err != nil {
		rp.log.Error("leaving gossip failed", "err", err)
		return
	}
	rp.log.Info("left the cluster; all data handed off")
	rp.left.Store(true)
}

// handOffEverything reports whether this node holds no data and no hints.
func (rp *Repair) handOffEverything(ctx context.Context) bool {
	if _, err := rp.HandoffOnce(ctx); err != nil {
		rp.log.Debug("handoff pass incomplete", "err", err)
	}
	hints := rp.replica.Hints()
	for _, target := range hints.Targets() {
		if _, err := hints.Deliver(ctx, target, rp.sendToOtherReplica); err != nil {
			rp.log.Debug("handing hints on", "target", target, "err", err)
		}
	}
	if len(hints.Targets()) > 0 {
		return false
	}
	for p := range rp.cfg.Partitions {
		if c, err := rp.replica.Count(p, nil); err != nil || c > 0 {
			return false
		}
	}
	return true
}
