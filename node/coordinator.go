package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// The coordinator side: any node can coordinate any request. It fans out to
// the key's preference list and waits for a quorum; stragglers finish in the
// background, bounded by their own timeouts rather than the client's.

// WriteRequest is a client PUT or DELETE.
type WriteRequest struct {
	Key         []byte
	Context     vclock.Context // what the client saw; empty = concurrent with everything
	Value       []byte
	ContentType string
	Delete      bool
	W           int // 0 = the node's default
}

// WriteResult is what a client learns of an acknowledged write.
type WriteResult struct {
	// Context is the new version's causal context: exactly what the client
	// had seen plus the new write, never the concurrent siblings it did not.
	Context vclock.Context
	Acks    int
}

// ReadResult is a key's merged state from a read quorum.
type ReadResult struct {
	Set  vclock.Set
	Acks int
}

// Put coordinates a client write. The first reachable replica of the key
// mints the new version's dot and returns its resulting state (a fallback
// mints only if no replica answers); that state is then merged into the
// other targets until W have acknowledged. A target that fails is replaced
// by the next spare node, which keeps the state as a hint for it.
func (n *Node) Put(ctx context.Context, req WriteRequest) (WriteResult, error) {
	w := req.W
	if w == 0 {
		w = n.cfg.W
	}
	targets, spares, _ := n.targetsFor(req.Key)
	if len(targets) < w {
		return WriteResult{}, quorumError("write", 0, w, fmt.Sprintf("the cluster has %d nodes", len(targets)))
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()

	wreq := wire.WriteRequest{Key: req.Key, Context: req.Context, Value: req.Value, ContentType: req.ContentType, Deleted: req.Delete}
	var minted wire.WriteResponse
	var why []string
	tried := map[int]bool{}
	var lost []membership.Target // targets that failed: stand-ins will take their share
	mint := func(t membership.Target) (bool, error) {
		var err error
		if minted, err = n.peers.Mint(ctx, t, wreq); err == nil {
			return true, nil
		}
		if apiErr := refusal(err); apiErr != nil {
			return false, apiErr
		}
		why = append(why, replicaFailure(t.Member, err))
		if ctx.Err() != nil {
			return false, timeoutError("write", 0, w, why...)
		}
		return false, nil
	}
	// Replicas mint first (their dots are what metadata is sized for), then
	// the chosen fallbacks, then spares standing in for failed targets.
	found := false
	for _, fallbacks := range []bool{false, true} {
		for i, t := range targets {
			if found || tried[i] || (t.HintFor != "") != fallbacks {
				continue
			}
			tried[i] = true
			ok, err := mint(t)
			if err != nil {
				return WriteResult{}, err
			}
			if ok {
				found = true
			} else {
				lost = append(lost, t)
			}
		}
	}
	for !found && len(spares) > 0 && len(lost) > 0 {
		t := membership.Target{Member: spares[0], HintFor: lost[0].ReplicaOf()}
		spares = spares[1:]
		ok, err := mint(t)
		if err != nil {
			return WriteResult{}, err
		}
		if ok {
			found = true
			lost = lost[1:]
		}
	}
	if !found {
		return WriteResult{}, quorumError("write", 0, w, why...)
	}

	acks := 1
	result := WriteResult{Context: req.Context.Add(minted.Dot)}
	merge := wire.MergeRequest{Key: req.Key, Set: minted.Set}.Encode()
	results := make(chan replicaResult, len(targets)+len(spares))
	outstanding := 0
	send := func(t membership.Target) {
		outstanding++
		n.background(func(bctx context.Context) {
			err := n.peers.Merge(bctx, t, merge)
			if err != nil {
				n.log.Debug("replication failed", "target", t.ID, "hint_for", t.HintFor, "err", err)
			}
			results <- replicaResult{to: t, err: err}
		})
	}
	// standIn replaces a failed target with the next spare, if any.
	standIn := func(failed membership.Target) bool {
		if len(spares) == 0 {
			return false
		}
		send(membership.Target{Member: spares[0], HintFor: failed.ReplicaOf()})
		spares = spares[1:]
		return true
	}
	for i, t := range targets {
		if !tried[i] {
			send(t)
		}
	}
	for _, t := range lost {
		standIn(t)
	}
	if acks >= w {
		result.Acks = acks
		return result, nil
	}
	timedOut := false
	for acks < w {
		if acks+outstanding < w {
			return WriteResult{}, failedQuorum("write", timedOut, acks, w, why...)
		}
		select {
		case res := <-results:
			outstanding--
			if res.err == nil {
				acks++
				continue
			}
			why = append(why, replicaFailure(res.to.Member, res.err))
			timedOut = timedOut || errors.Is(res.err, context.DeadlineExceeded)
			if refusal(res.err) == nil {
				standIn(res.to)
			}
		case <-ctx.Done():
			return WriteResult{}, timeoutError("write", acks, w, why...)
		}
	}
	result.Acks = acks
	return result, nil
}

type replicaResult struct {
	to  membership.Target
	err error
}

// Get coordinates a quorum read. It asks the first R targets (this node
// first when it is a replica), one more when they are slow
// (ReadSpeculateAfter) or one fails, answers once R have replied, and
// repairs the stale replicas among those that answered in the background
// afterwards; anti-entropy covers the others. Fallbacks answer from the
// hints they keep (sloppy read) and are not repaired: their hints reach the
// replicas by handoff.
func (n *Node) Get(ctx context.Context, key []byte, r int) (ReadResult, error) {
	if r == 0 {
		r = n.cfg.R
	}
	targets, spares, _ := n.targetsFor(key)
	if len(targets) < r {
		return ReadResult{}, quorumError("read", 0, r, fmt.Sprintf("the cluster has %d nodes", len(targets)))
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()

	type reply struct {
		from membership.Target
		set  vclock.Set
		err  error
	}
	replies := make(chan reply, len(targets)+len(spares))
	pending := 0
	ask := func(t membership.Target) {
		pending++
		n.background(func(bctx context.Context) {
			s, err := n.peers.Read(bctx, t, key)
			replies <- reply{from: t, set: s, err: err}
		})
	}
	first := r
	if n.cfg.ReadSpeculateAfter < 0 {
		first = len(targets)
	}
	reserve := targets[first:]
	self := -1
	for i, t := range targets[:first] {
		if t.HintFor == "" && t.ID == n.cfg.NodeID {
			self = i
			continue
		}
		ask(t)
	}
	if self >= 0 {
		// Read this replica in the request's goroutine while the peers
		// are asked; the answer joins theirs (replies has room for it).
		s, err := n.replica.ReadLocal(key)
		pending++
		replies <- reply{from: targets[self], set: s, err: err}
	}
	// askNext asks the next reserve target, or else a spare standing in
	// for failed, which may hold the key as a hint for it.
	askNext := func(failed *membership.Target) bool {
		switch {
		case len(reserve) > 0:
			ask(reserve[0])
			reserve = reserve[1:]
		case failed != nil && len(spares) > 0:
			ask(membership.Target{Member: spares[0], HintFor: failed.ReplicaOf()})
			spares = spares[1:]
		default:
			return false
		}
		return true
	}
	var speculate <-chan time.Time
	if len(reserve) > 0 {
		t := time.NewTimer(n.cfg.ReadSpeculateAfter)
		defer t.Stop()
		speculate = t.C
	}

	var merged vclock.Set
	var got []reply
	var why []string
	acks := 0
	timedOut := false
	for acks < r {
		select {
		case rep := <-replies:
			pending--
			if rep.err == nil {
				acks++
				merged = merged.Merge(rep.set)
				got = append(got, rep)
			} else {
				n.log.Debug("replica read failed", "replica", rep.from.ID, "err", rep.err)
				why = append(why, replicaFailure(rep.from.Member, rep.err))
				timedOut = timedOut || errors.Is(rep.err, context.DeadlineExceeded)
				askNext(&rep.from)
			}
			if acks+pending < r {
				return ReadResult{}, failedQuorum("read", timedOut, acks, r, why...)
			}
		case <-speculate:
			speculate = nil
			askNext(nil)
		case <-ctx.Done():
			return ReadResult{}, timeoutError("read", acks, r, why...)
		}
	}

	// Read repair: wait (bounded) for the stragglers, then bring every
	// replica that answered up to the merged state.
	n.background(func(bctx context.Context) {
		all, answered := merged, got
		deadline := time.NewTimer(n.cfg.ReadRepairTimeout)
		defer deadline.Stop()
	wait:
		for ; pending > 0; pending-- {
			select {
			case rep := <-replies:
				if rep.err == nil {
					all = all.Merge(rep.set)
					answered = append(answered, rep)
				}
			case <-deadline.C:
				break wait
			case <-bctx.Done():
				break wait
			}
		}
		var body []byte
		for _, rep := range answered {
			if rep.from.HintFor != "" || rep.set.Equal(all) {
				continue
			}
			if body == nil {
				body = wire.MergeRequest{Key: key, Set: all}.Encode()
			}
			if err := n.peers.Merge(bctx, membership.Target{Member: rep.from.Member}, body); err != nil {
				n.log.Debug("read repair failed", "replica", rep.from.ID, "err", err)
				continue
			}
			n.metrics.readRepairs.Inc()
		}
	})
	return ReadResult{Set: merged, Acks: acks}, nil
}

// refusal turns a replica's refusal into the client's error, or nil when the
// failure is one where another replica should be tried.
func refusal(err error) *APIError {
	var re *wire.RemoteError
	if err == nil || !errors.As(err, &re) {
		return nil
	}
	if e := apiErrorFromRemote(re); e != nil {
		return e
	}
	if re.Code == wire.CodeBadMessage {
		return &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: fmt.Sprintf("replica refused the request: %s", re.Message)}
	}
	return nil
}

// failedQuorum is a 504 when a replica that might have answered in time
// ran out of it, and a 503 when too few replicas could be reached at all.
func failedQuorum(op string, timedOut bool, acks, required int, why ...string) *APIError {
	if timedOut {
		return timeoutError(op, acks, required, why...)
	}
	return quorumError(op, acks, required, why...)
}
