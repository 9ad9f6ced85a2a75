package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

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

// replicaCall sends one internode request; the local replica is called
// directly rather than through the transport.
func (n *Node) replicaCall(ctx context.Context, m Member, op Op, body []byte) ([]byte, error) {
	if m.ID == n.cfg.NodeID {
		out, err := n.HandleInternode(ctx, op, body)
		if err != nil {
			// Exactly what a peer would have answered, so the coordinator
			// treats local and remote refusals alike.
			return nil, asRemoteError(err)
		}
		return out, nil
	}
	start := time.Now()
	out, err := n.transport.Call(ctx, m.HTTPAddr, op, body)
	n.metrics.observeInternode(op, err, time.Since(start))
	return out, err
}

// replicasFor returns the key's preference list as members, the coordinator
// first if it is one (saving a hop), then alive members before the rest.
func (n *Node) replicasFor(key []byte) []Member {
	v := n.view()
	pref := v.ring.PreferenceList(v.ring.PartitionOf(key))
	out := make([]Member, 0, len(pref))
	var down []Member
	for _, id := range pref {
		m, ok := v.members[id]
		if !ok {
			m = Member{ID: id, Status: StatusFailed}
		}
		switch {
		case id == n.cfg.NodeID:
			out = append([]Member{m}, out...)
		case m.Status == StatusAlive:
			out = append(out, m)
		default:
			down = append(down, m)
		}
	}
	return append(out, down...)
}

// Put coordinates a client write: one replica of the key mints the new
// version's dot and returns its resulting state, which is then merged into
// the other replicas until W have acknowledged.
func (n *Node) Put(ctx context.Context, req WriteRequest) (WriteResult, error) {
	w := req.W
	if w == 0 {
		w = n.cfg.W
	}
	replicas := n.replicasFor(req.Key)
	if len(replicas) < w {
		return WriteResult{}, quorumError("write", 0, w)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()

	body := writeRequest{Key: req.Key, Context: req.Context, Value: req.Value, ContentType: req.ContentType, Deleted: req.Delete}.encode()
	var minted writeResponse
	var why []string
	maker := -1
	for i, m := range replicas {
		out, err := n.replicaCall(ctx, m, OpWrite, body)
		if err == nil {
			if minted, err = decodeWriteResponse(out); err == nil {
				maker = i
				break
			}
		}
		if apiErr := refusal(err); apiErr != nil {
			return WriteResult{}, apiErr
		}
		why = append(why, replicaFailure(m, err))
		if ctx.Err() != nil {
			return WriteResult{}, timeoutError("write", 0, w, why...)
		}
		n.log.Debug("replica could not take write; trying the next", "replica", m.ID, "err", err)
	}
	if maker < 0 {
		return WriteResult{}, quorumError("write", 0, w, why...)
	}

	acks := 1
	result := WriteResult{Context: req.Context.Add(minted.Dot)}
	others := len(replicas) - 1
	if others == 0 || acks >= w {
		n.replicateAsync(replicas, maker, req.Key, minted.Set, nil)
		result.Acks = acks
		return result, nil
	}
	done := make(chan replicaResult, others)
	n.replicateAsync(replicas, maker, req.Key, minted.Set, done)
	timedOut := false
	for answered := 0; acks < w; {
		select {
		case res := <-done:
			answered++
			if res.err == nil {
				acks++
			} else {
				why = append(why, replicaFailure(res.from, res.err))
				timedOut = timedOut || errors.Is(res.err, context.DeadlineExceeded)
			}
			if acks+others-answered < w {
				return WriteResult{}, failedQuorum("write", timedOut, acks, w, why...)
			}
		case <-ctx.Done():
			return WriteResult{}, timeoutError("write", acks, w, why...)
		}
	}
	result.Acks = acks
	return result, nil
}

type replicaResult struct {
	from Member
	err  error
}

// replicateAsync merges the minted state into every replica but the one that
// minted it. Each result goes to done (if not nil, buffered for all).
func (n *Node) replicateAsync(replicas []Member, maker int, key []byte, s vclock.Set, done chan<- replicaResult) {
	body := mergeRequest{Key: key, Set: s}.encode()
	for i, m := range replicas {
		if i == maker {
			continue
		}
		n.background(func(ctx context.Context) {
			_, err := n.replicaCall(ctx, m, OpMerge, body)
			if err != nil {
				n.log.Debug("replication failed", "replica", m.ID, "err", err)
			}
			if done != nil {
				done <- replicaResult{from: m, err: err}
			}
		})
	}
}

// Get coordinates a quorum read: it asks every replica, answers once R have
// replied, and repairs stale replicas in the background afterwards.
func (n *Node) Get(ctx context.Context, key []byte, r int) (ReadResult, error) {
	if r == 0 {
		r = n.cfg.R
	}
	replicas := n.replicasFor(key)
	if len(replicas) < r {
		return ReadResult{}, quorumError("read", 0, r)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()

	type reply struct {
		from Member
		set  vclock.Set
		err  error
	}
	replies := make(chan reply, len(replicas))
	body := readRequest{Key: key}.encode()
	for _, m := range replicas {
		n.background(func(bctx context.Context) {
			out, err := n.replicaCall(bctx, m, OpRead, body)
			var s vclock.Set
			if err == nil {
				var resp readResponse
				resp, err = decodeReadResponse(out)
				s = resp.Set
			}
			replies <- reply{from: m, set: s, err: err}
		})
	}

	var merged vclock.Set
	var got []reply
	var why []string
	pending, acks := len(replicas), 0
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
				why = append(why, replicaFailure(rep.from, rep.err))
				timedOut = timedOut || errors.Is(rep.err, context.DeadlineExceeded)
			}
			if acks+pending < r {
				return ReadResult{}, failedQuorum("read", timedOut, acks, r, why...)
			}
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
			if rep.set.Equal(all) {
				continue
			}
			if body == nil {
				body = mergeRequest{Key: key, Set: all}.encode()
			}
			if _, err := n.replicaCall(bctx, rep.from, OpMerge, body); err != nil {
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
	var re *RemoteError
	if err == nil || !errors.As(err, &re) {
		return nil
	}
	if e := apiErrorFromRemote(re); e != nil {
		return e
	}
	if re.Code == codeBadMessage {
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
