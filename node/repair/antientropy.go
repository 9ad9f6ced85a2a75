package repair

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/transport"
)

// Active anti-entropy heals what hinted handoff misses (a wiped disk, a
// fallback that died, hints redirected past their window) without any
// client read: two replicas of a partition compare their Merkle trees and
// exchange only the keys that differ (docs/GUARANTEES.md, G3).

// ExchangeStats counts what one or more exchanges did.
type ExchangeStats struct {
	Exchanges      int   // partition-peer pairs compared
	InSync         int   // of which agreed at the root
	KeysRepaired   int   // keys merged here or pushed to the peer
	KeyFailures    int   // keys that could not be repaired (keyfailures.go)
	BytesSent      int64 // request bodies sent, tree descent and repairs
	BytesReceived  int64 // response bodies received
	HashesCompared int
}

// Add sums o into s.
func (s *ExchangeStats) Add(o ExchangeStats) {
	s.Exchanges += o.Exchanges
	s.InSync += o.InSync
	s.KeysRepaired += o.KeysRepaired
	s.KeyFailures += o.KeyFailures
	s.BytesSent += o.BytesSent
	s.BytesReceived += o.BytesReceived
	s.HashesCompared += o.HashesCompared
}

// AntiEntropyOnce compares every tree this node keeps — partition p and
// class n with Rank(p, self) < n (classes.go) — with each other usable
// member of PreferenceListN(p, n), and repairs the differences. It first
// rebuilds the trees if the bucket placement changed. The loop calls it on
// a timer; tests call it directly to drive time.
func (rp *Repair) AntiEntropyOnce(ctx context.Context) (ExchangeStats, error) {
	v := rp.cluster.View()
	var total ExchangeStats
	if err := rp.syncPlacement(ctx, v); err != nil {
		return total, fmt.Errorf("rebuild trees for a new bucket placement: %w", err)
	}
	table := rp.cfg.Buckets()
	var errs []error
	for _, t := range rp.wantedTrees(v, table) {
		for _, id := range v.Ring.PreferenceListN(t.Partition, t.N) {
			m, ok := v.Members[id]
			if id == rp.cfg.Self || !ok || !rp.cluster.Usable(m) {
				continue
			}
			st, err := rp.exchange(ctx, t.Partition, t.N, wireClass(table, t.N), m)
			total.Add(st)
			if err != nil {
				errs = append(errs, fmt.Errorf("partition %d, N=%d, with %s: %w", t.Partition, t.N, id, err))
			}
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
		}
	}
	return total, errors.Join(errs...)
}

// exchange is one tree's comparison with one peer: partition p's keys of
// class n, named wireN on the wire (wireClass).
type exchange struct {
	rp    *Repair
	p     int
	n     int
	wireN int
	peer  membership.Member
	tree  *merkle.Tree
	peers *transport.Peers // counting into bytes
	bytes transport.Bytes
	st    ExchangeStats
	// failures are the keys that could not be repaired.
	failures keyFailures
}

func (rp *Repair) exchange(ctx context.Context, p, n, wireN int, peer membership.Member) (ExchangeStats, error) {
	tree := rp.replica.Tree(p, n)
	if tree == nil {
		return ExchangeStats{Exchanges: 1}, nil
	}
	x := &exchange{rp: rp, p: p, n: n, wireN: wireN, peer: peer, tree: tree, st: ExchangeStats{Exchanges: 1}}
	x.peers = rp.peers.Counting(&x.bytes)
	repaired, err := x.run(ctx)
	x.st.BytesSent, x.st.BytesReceived = x.bytes.Sent, x.bytes.Received
	x.st.KeyFailures = x.failures.n
	x.reportKeyFailures()
	if err == nil {
		err = x.failures.err() // such an exchange failed, not repaired
	}
	switch {
	case err != nil:
		rp.stats.ExchangesFailed.Add(1)
	case repaired:
		rp.stats.ExchangesRepaired.Add(1)
	default:
		rp.stats.ExchangesInSync.Add(1)
	}
	rp.stats.KeysRepaired.Add(int64(x.st.KeysRepaired))
	rp.stats.KeyFailures.Add(int64(x.st.KeyFailures))
	rp.stats.BytesSent.Add(x.st.BytesSent)
	rp.stats.LastExchange.Store(rp.cfg.Wall().UnixMilli())
	return x.st, err
}

// run compares roots first (replicas in sync, the steady state, cost one
// hash), then descends only into subtrees whose hashes differ, then
// repairs the keys of the leaves that differ. It reports whether there
// was anything to repair.
func (x *exchange) run(ctx context.Context) (bool, error) {
	root, err := x.peers.TreeChildren(ctx, x.peer, wire.TreeRequest{Partition: x.p, N: x.wireN})
	if err != nil {
		return false, err
	}
	if len(root) != 1 {
		return false, fmt.Errorf("%w: %d hashes for the root", wire.ErrBadMessage, len(root))
	}
	x.st.HashesCompared++
	if root[0] == x.tree.Root() {
		x.st.InSync = 1
		return false, nil
	}
	leaves, err := x.differingLeaves(ctx)
	if err != nil || len(leaves) == 0 {
		if err == nil {
			x.st.InSync = 1
		}
		return false, err
	}
	return true, x.repairLeaves(ctx, leaves)
}

// differingLeaves descends level by level into the nodes whose hashes
// differ and returns the leaves that do.
func (x *exchange) differingLeaves(ctx context.Context) ([]int, error) {
	cfg := x.tree.Config()
	frontier := []int{0}
	for level := 0; level < cfg.Depth && len(frontier) > 0; level++ {
		theirs, err := x.peers.TreeChildren(ctx, x.peer, wire.TreeRequest{Partition: x.p, Level: level, Indexes: frontier, N: x.wireN})
		if err != nil {
			return nil, err
		}
		if len(theirs) != len(frontier)*cfg.Fanout {
			return nil, fmt.Errorf("%w: %d hashes for %d nodes", wire.ErrBadMessage, len(theirs), len(frontier))
		}
		var next []int
		for k, idx := range frontier {
			mine, err := x.tree.Children(level, idx)
			if err != nil {
				return nil, err
			}
			for c := range cfg.Fanout {
				x.st.HashesCompared++
				if mine[c] != theirs[k*cfg.Fanout+c] {
					next = append(next, idx*cfg.Fanout+c)
				}
			}
		}
		frontier = next
	}
	return frontier, nil
}

// repairLeaves pulls what the peer has that differs and pushes back what it
// lacks. Theirs first: merging what they have into ours tells whether the
// peer lacks anything; only then is the merged state pushed back. A key
// that fails is counted and skipped (keyfailures.go).
func (x *exchange) repairLeaves(ctx context.Context, leaves []int) error {
	theirs, err := x.peers.TreeEntries(ctx, x.peer, wire.TreeRequest{Partition: x.p, Indexes: leaves, N: x.wireN})
	if err != nil {
		return err
	}
	mine, err := x.rp.replica.LeafEntries(x.p, x.n, leaves)
	if err != nil {
		return err
	}
	// Only keys of this class by this node's own table are taken: a peer
	// still classifying by an older placement (a bucket's N just lowered)
	// must not copy back a key this node's handoff trimmed.
	table := x.rp.cfg.Buckets()
	theirs = slices.DeleteFunc(theirs, func(e merkle.Entry) bool { return table.PropsOf(e.Key).N != x.n })
	onlyMine, onlyTheirs, differ := merkle.DiffEntries(mine, theirs)
	push := onlyMine
	isDiffer := map[string]bool{}
	for _, key := range differ {
		isDiffer[string(key)] = true
	}
	for _, key := range slices.Concat(onlyTheirs, differ) {
		lacks, err := x.pull(ctx, key, isDiffer[string(key)])
		if err != nil {
			if err := x.failures.failed(ctx, key, err); err != nil {
				return err
			}
			continue
		}
		if lacks {
			push = append(push, key)
		}
	}
	for _, key := range push {
		if err := x.push(ctx, key); err != nil {
			if err := x.failures.failed(ctx, key, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// pull merges the peer's state of key into this replica's; for a key both
// hold it reports whether the peer lacks something of the merge.
func (x *exchange) pull(ctx context.Context, key []byte, both bool) (peerLacks bool, err error) {
	if err := x.rp.limiter.Wait(ctx); err != nil {
		return false, err
	}
	to := membership.Target{Member: x.peer}
	theirs, err := x.peers.Read(ctx, to, key)
	if err != nil {
		return false, err
	}
	if err := x.rp.replica.Merge(key, theirs); err != nil {
		return false, err
	}
	x.st.KeysRepaired++
	if !both {
		return false, nil
	}
	merged, err := x.rp.replica.Read(key)
	if err != nil {
		return false, err
	}
	return !merged.Equal(theirs), nil
}

// push merges this replica's state of key into the peer's.
func (x *exchange) push(ctx context.Context, key []byte) error {
	if err := x.rp.limiter.Wait(ctx); err != nil {
		return err
	}
	s, err := x.rp.replica.Read(key)
	if err != nil {
		return err
	}
	if err := x.peers.Merge(ctx, membership.Target{Member: x.peer}, wire.MergeRequest{Key: key, Set: s}.Encode()); err != nil {
		return err
	}
	x.st.KeysRepaired++
	return nil
}
