package repair

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

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
	// KeysQuarantined counts records found undecodable on the way: set
	// aside instead of sent, so that one bad record cannot stop the
	// partition's handoff; the other replicas hold the key.
	KeysQuarantined int    `json:"keys_quarantined,omitempty"`
	Error           string `json:"error,omitempty"`
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
func (rp *Repair) Handoffs() []HandoffStatus {
	rp.handoffs.mu.Lock()
	defer rp.handoffs.mu.Unlock()
	out := make([]HandoffStatus, 0, len(rp.handoffs.active))
	for _, st := range rp.handoffs.active {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b HandoffStatus) int { return a.Partition - b.Partition })
	return out
}

// HandoffOnce hands off every partition this node holds keys of but no
// longer replicates (every partition, while leaving). It returns how many
// keys moved. The anti-entropy loop calls it; tests call it directly.
func (rp *Repair) HandoffOnce(ctx context.Context) (int, error) {
	v := rp.cluster.View()
	moved := 0
	var errs []error
	for p := range rp.cfg.Partitions {
		if v.Ring.IsReplica(p, rp.cfg.Self) && !rp.leaving.Load() {
			continue
		}
		left, err := rp.replica.Count(p)
		if err != nil || left == 0 {
			continue
		}
		k, err := rp.handoffPartition(ctx, v, p, left)
		moved += k
		rp.stats.HandoffKeys.Add(int64(k))
		if err != nil {
			errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return moved, errors.Join(errs...)
}

// newOwners are partition p's replicas other than this node, all of which
// must be reachable: a key is forgotten here only once every one has it.
func (rp *Repair) newOwners(v *membership.View, p int) ([]membership.Member, error) {
	var to []membership.Member
	for _, id := range v.Ring.PreferenceList(p) {
		if id == rp.cfg.Self {
			continue
		}
		m, ok := v.Members[id]
		if !ok || !rp.cluster.Usable(m) {
			return nil, fmt.Errorf("new replica %s is not reachable; will retry", id)
		}
		to = append(to, m)
	}
	if len(to) == 0 {
		return nil, errors.New("no other replica to hand off to")
	}
	return to, nil
}

// handoffPageSize is how many keys one scan reads before they are sent
// with no iterator open: an open iterator pins the store's files for as
// long as the sends take.
const handoffPageSize = 256

func (rp *Repair) handoffPartition(ctx context.Context, v *membership.View, p, left int) (int, error) {
	to, err := rp.newOwners(v, p)
	if err != nil {
		return 0, err
	}
	st := HandoffStatus{Partition: p, From: rp.cfg.Self, KeysLeft: left}
	for _, m := range to {
		st.To = append(st.To, m.ID)
	}
	rp.handoffs.set(st)
	for err == nil {
		var page []entry
		page, err = rp.scanPage(p)
		if err != nil || len(page) == 0 {
			break
		}
		err = rp.handOffPage(ctx, page, to, &st)
		rp.handoffs.set(st)
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		st.Error = err.Error()
		rp.handoffs.set(st)
		return st.KeysDone, err
	}
	rp.handoffs.done(p)
	rp.log.Info("partition handed off", "partition", p, "to", st.To, "keys", st.KeysDone)
	return st.KeysDone, nil
}

type entry struct{ key, value []byte }

var errPageFull = errors.New("page full")

// scanPage reads the first keys still held of partition p: each page
// handed off is forgotten, so the next scan starts where this one ended.
func (rp *Repair) scanPage(p int) ([]entry, error) {
	var page []entry
	err := rp.replica.Scan(p, func(key, value []byte) error {
		if len(page) == handoffPageSize {
			return errPageFull
		}
		page = append(page, entry{key, value})
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, err
	}
	return page, nil
}

// handOffPage merges every key of page into every new owner, then forgets
// it here unless it changed meanwhile.
func (rp *Repair) handOffPage(ctx context.Context, page []entry, to []membership.Member, st *HandoffStatus) error {
	for _, e := range page {
		corrupt, err := rp.replica.SetAsideIfCorrupt(e.key, e.value)
		if err != nil {
			return err
		}
		if corrupt {
			st.KeysQuarantined++
			st.KeysLeft--
			continue
		}
		body := wire.EncodeMerge(e.key, e.value)
		for _, m := range to {
			if err := rp.peers.Merge(ctx, membership.Target{Member: m}, body); err != nil {
				return fmt.Errorf("hand %q to %s: %w", e.key, m.ID, err)
			}
		}
		if err := rp.replica.ForgetIfUnchanged(e.key, e.value); err != nil {
			return err
		}
		st.KeysDone++
		st.KeysLeft--
	}
	return nil
}
