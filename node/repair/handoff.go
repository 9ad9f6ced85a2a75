package repair

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/dynkv/dynkv/clusterstatus"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// HandoffStatus is one partition's handoff as /cluster/handoffs and the
// status report show it (package clusterstatus). KeysQuarantined counts
// records found undecodable on the way: set aside instead of sent, so
// that one bad record cannot stop the partition's handoff; the other
// replicas hold the key.
type HandoffStatus = clusterstatus.Handoff

// Ownership handoff: when the ring changes (a join, a leave), a node may
// hold keys of partitions it no longer replicates; when a bucket's N is
// lowered, it may hold keys of a bucket it no longer replicates (its rank
// in the partition's walk is not below the bucket's N). It pushes each
// such key to its current replicas and deletes its copy only after every
// one of them acknowledged, and only if the copy did not change meanwhile.
// A pass finds the work by scanning, so it resumes by itself after a crash
// of either side: merges are idempotent and nothing is deleted early. New
// replicas that no node hands anything to (the node that left is dead) are
// filled by anti-entropy from the replicas that stayed.

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

// HandoffOnce hands off every key this node holds but must not: those of
// partitions it no longer replicates (every key, while leaving), and those
// of buckets whose N is at most its rank in the key's partition walk
// (classes.go). It returns how many keys moved. The anti-entropy loop calls
// it; tests call it directly.
func (rp *Repair) HandoffOnce(ctx context.Context) (int, error) {
	v := rp.cluster.View()
	table := rp.cfg.Buckets()
	moved := 0
	var errs []error
	for p := range rp.cfg.Partitions {
		rank := v.Ring.Rank(p, rp.cfg.Self)
		if rp.holdsRightly(rank, table.Classes()[0]) {
			continue // every bucket's keys belong here
		}
		h := &partitionHandoff{rp: rp, v: v, table: table, p: p, rank: rank}
		h.prefixes = h.scanPrefixes()
		left, err := h.count()
		if err != nil || left == 0 {
			continue
		}
		h.owners = map[int][]membership.Member{}
		h.st = HandoffStatus{Partition: p, From: rp.cfg.Self, To: []string{}, KeysLeft: left}
		k, err := h.run(ctx)
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

// partitionHandoff is one pass over one partition's keys.
type partitionHandoff struct {
	rp    *Repair
	v     *membership.View
	table *bucket.Table
	p     int
	rank  int // this node's in the partition's walk; -1 if not in it
	// prefixes are the key ranges the pass scans (scanPrefixes).
	prefixes [][]byte
	// owners are the other replicas of the partition per class, found when
	// the first key of the class is handed off.
	owners map[int][]membership.Member
	st     HandoffStatus
	shown  bool // st is in rp.handoffs: some key had to move
}

// newOwners are the replicas of partition p's keys of class n other than
// this node, all of which must be reachable: a key is forgotten here only
// once every one has it.
func (h *partitionHandoff) newOwners(n int) ([]membership.Member, error) {
	if to, ok := h.owners[n]; ok {
		return to, nil
	}
	var to []membership.Member
	for _, id := range h.v.Ring.PreferenceListN(h.p, n) {
		if id == h.rp.cfg.Self {
			continue
		}
		if !slices.Contains(h.st.To, id) {
			h.st.To = append(h.st.To, id)
		}
		m, ok := h.v.Members[id]
		if !ok || !h.rp.cluster.Usable(m) {
			return nil, fmt.Errorf("new replica %s is not reachable; will retry", id)
		}
		to = append(to, m)
	}
	if len(to) == 0 {
		return nil, errors.New("no other replica to hand off to")
	}
	h.owners[n] = to
	return to, nil
}

// handoffPageSize is how many keys one scan reads before they are sent
// with no iterator open: an open iterator pins the store's files for as
// long as the sends take.
const handoffPageSize = 256

// run scans the partition's key ranges that may hold keys to move
// (scanPrefixes) page by page, past the keys it leaves in place, and shows
// its progress in Handoffs once a key had to move.
func (h *partitionHandoff) run(ctx context.Context) (int, error) {
	var err error
	for _, prefix := range h.prefixes {
		var after []byte
		for err == nil {
			var page []entry
			page, err = h.rp.scanPage(h.p, prefix, after)
			if err != nil || len(page) == 0 {
				break
			}
			after = page[len(page)-1].key
			err = h.handOffPage(ctx, page)
			if h.shown {
				h.rp.handoffs.set(h.st)
			}
			if err == nil {
				err = ctx.Err()
			}
		}
	}
	if err != nil {
		h.st.Error = err.Error()
		h.rp.handoffs.set(h.st)
		return h.st.KeysDone, err
	}
	h.rp.handoffs.done(h.p)
	if h.st.KeysDone > 0 {
		h.rp.log.Info("partition handed off", "partition", h.p, "to", h.st.To, "keys", h.st.KeysDone)
	}
	return h.st.KeysDone, nil
}

// scanPrefixes are the key ranges of the partition that may hold keys
// this node must hand off. Named buckets' internal keys start with a NUL
// byte, which no default-bucket key does, and each bucket's with its own
// prefix (package bucket), so when the default bucket's keys belong here
// only other buckets' are scanned, and when those of buckets without props
// belong here too, only the buckets whose N is at most this node's rank
// (from 0): the third replica of a partition, with a bucket of N=2, scans
// that bucket's keys there and no others, every anti-entropy pass.
func (h *partitionHandoff) scanPrefixes() [][]byte {
	switch {
	case !h.rp.holdsRightly(h.rank, h.table.Props(bucket.Default).N):
		return [][]byte{nil} // all of it
	case !h.rp.holdsRightly(h.rank, h.table.Defaults().N):
		return [][]byte{{0}} // every named bucket's keys
	}
	var prefixes [][]byte
	for _, name := range h.table.NamedWithNAtMost(h.rank) {
		prefixes = append(prefixes, bucket.Prefix(name))
	}
	return prefixes
}

// count is how many keys the pass will look at: what its status starts
// with as left to go.
func (h *partitionHandoff) count() (int, error) {
	total := 0
	for _, prefix := range h.prefixes {
		n, err := h.rp.replica.Count(h.p, prefix)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

type entry struct{ key, value []byte }

var errPageFull = errors.New("page full")

// scanPage reads the keys of partition p that start with prefix, after
// after (from the first when nil), at most a page of them.
func (rp *Repair) scanPage(p int, prefix, after []byte) ([]entry, error) {
	var page []entry
	err := rp.replica.ScanFrom(p, prefix, after, func(key, value []byte) error {
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

// handOffPage merges every key of page this node must not hold into every
// replica of its class, then forgets it here unless it changed meanwhile
// (the next pass sends it again).
func (h *partitionHandoff) handOffPage(ctx context.Context, page []entry) error {
	rp := h.rp
	for _, e := range page {
		n := h.table.PropsOf(e.key).N
		if rp.holdsRightly(h.rank, n) {
			h.st.KeysLeft--
			continue
		}
		if !h.shown {
			h.shown = true
			rp.handoffs.set(h.st)
		}
		corrupt, err := rp.replica.SetAsideIfCorrupt(e.key, e.value)
		if err != nil {
			return err
		}
		if corrupt {
			h.st.KeysQuarantined++
			h.st.KeysLeft--
			continue
		}
		to, err := h.newOwners(n)
		if err != nil {
			return err
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
		h.st.KeysDone++
		h.st.KeysLeft--
	}
	return nil
}
