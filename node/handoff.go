package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// Ownership handoff: when the ring changes (a join, a leave), a node may
// hold keys of partitions it no longer replicates. It pushes each such key
// to the partition's current replicas and deletes its copy only after every
// one of them acknowledged, and only if the copy did not change meanwhile.
// A pass finds the work by scanning, so it resumes by itself after a crash
// of either side: merges are idempotent and nothing is deleted early. New
// replicas that no node hands anything to (the node that left is dead) are
// filled by anti-entropy from the replicas that stayed.

// HandoffStatus is one partition's handoff as /cluster/handoffs shows it.
type HandoffStatus struct {
	Partition int      `json:"partition"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	KeysDone  int      `json:"keys_done"`
	KeysLeft  int      `json:"keys_left"`
	Error     string   `json:"error,omitempty"`
}

type handoffs struct {
	mu     sync.Mutex
	active map[int]*HandoffStatus
}

func (h *handoffs) set(st HandoffStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active == nil {
		h.active = map[int]*HandoffStatus{}
	}
	h.active[st.Partition] = &st
}

func (h *handoffs) done(p int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.active, p)
}

// Handoffs lists the partitions this node is handing off.
func (n *Node) Handoffs() []HandoffStatus {
	n.handoff.mu.Lock()
	defer n.handoff.mu.Unlock()
	out := make([]HandoffStatus, 0, len(n.handoff.active))
	for _, st := range n.handoff.active {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b HandoffStatus) int { return a.Partition - b.Partition })
	return out
}

// HandoffOnce hands off every partition this node holds keys of but no
// longer replicates. It returns how many keys moved. The anti-entropy loop
// calls it; tests call it directly.
func (n *Node) HandoffOnce(ctx context.Context) (int, error) {
	v := n.cluster.View()
	moved := 0
	var errs []error
	for p := range n.cfg.Ring.Partitions {
		if v.Ring.IsReplica(p, n.cfg.NodeID) && !n.leaving.Load() {
			continue
		}
		left, err := n.replica.Count(p)
		if err != nil || left == 0 {
			continue
		}
		k, err := n.handoffPartition(ctx, v, p, left)
		moved += k
		n.metrics.handoffKeys.Add(float64(k))
		if err != nil {
			errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return moved, errors.Join(errs...)
}

func (n *Node) handoffPartition(ctx context.Context, v *membership.View, p, left int) (int, error) {
	pref := v.Ring.PreferenceList(p)
	var to []membership.Member
	for _, id := range pref {
		if id == n.cfg.NodeID {
			continue
		}
		m, ok := v.Members[id]
		if !ok || !n.cluster.Usable(m) {
			return 0, fmt.Errorf("new replica %s is not reachable; will retry", id)
		}
		to = append(to, m)
	}
	if len(to) == 0 {
		return 0, errors.New("no other replica to hand off to")
	}
	st := HandoffStatus{Partition: p, From: n.cfg.NodeID, KeysLeft: left}
	for _, m := range to {
		st.To = append(st.To, m.ID)
	}
	n.handoff.set(st)
	type entry struct{ key, value []byte }
	var batch []entry
	flush := func() error {
		for _, e := range batch {
			body := wire.EncodeMerge(e.key, e.value)
			for _, m := range to {
				if err := n.peers.Merge(ctx, membership.Target{Member: m}, body); err != nil {
					return fmt.Errorf("hand %q to %s: %w", e.key, m.ID, err)
				}
			}
			if err := n.replica.ForgetIfUnchanged(e.key, e.value); err != nil {
				return err
			}
			st.KeysDone++
			st.KeysLeft--
		}
		batch = batch[:0]
		n.handoff.set(st)
		return nil
	}
	// Scan in pages without sending from inside the scan: an open iterator
	// pins the store's files for as long as the sends take.
	var err error
	for {
		scanErr := n.replica.Scan(p, func(key, value []byte) error {
			if len(batch) == 256 {
				return errPageFull
			}
			batch = append(batch, entry{key, value})
			return nil
		})
		if scanErr != nil && !errors.Is(scanErr, errPageFull) {
			err = scanErr
			break
		}
		if len(batch) == 0 {
			break
		}
		if err = flush(); err != nil {
			break
		}
		if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
	}
	if err != nil {
		st.Error = err.Error()
		n.handoff.set(st)
		return st.KeysDone, err
	}
	n.handoff.done(p)
	n.log.Info("partition handed off", "partition", p, "to", st.To, "keys", st.KeysDone)
	return st.KeysDone, nil
}

var errPageFull = errors.New("page full")

var errAlreadyLeft = errors.New("already left the cluster")

// resumeLeave continues a leave a crash interrupted.
func (n *Node) resumeLeave() {
	if !n.replica.WasLeaving() {
		return
	}
	n.log.Info("resuming a leave that was interrupted")
	if err := n.Leave(); err != nil {
		n.log.Error("cannot resume leaving", "err", err)
	}
}

// Leave hands this node's data off and then leaves the cluster for good:
// it announces that it is leaving (everyone's ring drops it), hands off
// every partition and its hints, and leaves gossip once nothing is left.
// It returns at once; progress shows in Handoffs and the logs.
//
// The intent is stored first, so a node that crashes while leaving resumes
// the leave when it starts again.
func (n *Node) Leave() error {
	if !n.leaving.CompareAndSwap(false, true) {
		return nil
	}
	if err := n.replica.RecordLeaving(); err != nil {
		n.leaving.Store(false)
		return fmt.Errorf("record leave: %w", err)
	}
	if err := n.membership.SetTag(membership.TagState, membership.StateLeaving); err != nil {
		n.leaving.Store(false)
		return fmt.Errorf("announce leave: %w", err)
	}
	n.loops.Add(1)
	go func() {
		defer n.loops.Done()
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			if n.handOffEverything(n.loopCtx) {
				break
			}
			select {
			case <-n.loopCtx.Done():
				return
			case <-time.After(wait):
			}
		}
		if err := n.membership.Leave(); err != nil {
			n.log.Error("leaving gossip failed", "err", err)
			return
		}
		n.log.Info("left the cluster; all data handed off")
		n.left.Store(true)
	}()
	return nil
}

// handOffEverything reports whether this node holds no data and no hints.
func (n *Node) handOffEverything(ctx context.Context) bool {
	if _, err := n.HandoffOnce(ctx); err != nil {
		n.log.Debug("handoff pass incomplete", "err", err)
	}
	for _, target := range n.replica.Hints().Targets() {
		if _, err := n.replica.Hints().Deliver(ctx, target, n.sendToOtherReplica); err != nil {
			n.log.Debug("handing hints on", "target", target, "err", err)
		}
	}
	if len(n.replica.Hints().Targets()) > 0 {
		return false
	}
	for p := range n.cfg.Ring.Partitions {
		if c, err := n.replica.Count(p); err != nil || c > 0 {
			return false
		}
	}
	return true
}

// Left reports whether a Leave completed.
func (n *Node) Left() bool { return n.left.Load() }

// Remove declares a failed member gone for good; its partitions are
// re-replicated from the survivors by anti-entropy.
func (n *Node) Remove(id string) error {
	if id == n.cfg.NodeID {
		return errors.New("a node cannot remove itself; use leave")
	}
	m, ok := n.cluster.View().Members[id]
	if !ok {
		return fmt.Errorf("%s is not a member", id)
	}
	switch m.Status {
	case membership.StatusAlive:
		return fmt.Errorf("%s is alive: make it leave instead, or stop it first", id)
	case membership.StatusLeft:
		return fmt.Errorf("%w: %s", errAlreadyLeft, id)
	}
	return n.membership.Remove(id)
}
