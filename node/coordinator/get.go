package coordinator

import (
	"context"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// ReadResult is a key's merged state from a read quorum.
type ReadResult struct {
	Set  vclock.Set
	Acks int
}

type replyIn struct {
	from membership.Target
	set  vclock.Set
	err  error
}

// get is one read in flight.
type get struct {
	c       *Coordinator
	key     []byte
	tally   ReadTally // by value: one allocation per read for the whole state
	replies chan replyIn
	reserve []membership.Target // targets not asked yet, in order
	spares  []membership.Member
	asked   []membership.Member // read repair's addresses
}

// Get coordinates a quorum read of an internal key, at r (0: its bucket's
// R; at most its N). It asks the first R targets (this node
// first when it is a replica), one more when they are slow
// (ReadSpeculateAfter) or one fails, answers once R have replied, and
// repairs the stale replicas among those that answered in the background
// afterwards; anti-entropy covers the others. In an lww bucket the answer
// and the repairs are the merge's last writer (ReadTally). Fallbacks answer from the
// hints they keep (sloppy read) and are not repaired: their hints reach the
// replicas by handoff.
func (c *Coordinator) Get(ctx context.Context, key []byte, r int) (ReadResult, error) {
	props := c.propsOf(key)
	r, err := quorumFor("read", r, props.R, props.N)
	if err != nil {
		return ReadResult{}, err
	}
	targets, spares := c.targetsFor(key, props.N)
	if len(targets) < r {
		return ReadResult{}, &QuorumError{Op: "read", Required: r, Why: []string{fmt.Sprintf("the cluster has %d nodes", len(targets))}}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	first := r
	if c.cfg.ReadSpeculateAfter < 0 {
		first = len(targets)
	}
	asked := len(targets) + len(spares)
	g := &get{
		c: c, key: key, replies: make(chan replyIn, asked),
		reserve: targets[first:], spares: spares, asked: make([]membership.Member, 0, asked),
	}
	g.tally.counts = newCounts(r)
	g.tally.lww = props.Conflict == bucket.LWW
	g.tally.answered = make([]readReply, 0, asked)
	g.start(ctx, targets[:first])
	if err := g.wait(ctx); err != nil {
		return ReadResult{}, err
	}
	res := ReadResult{Set: g.tally.Result(), Acks: g.tally.Acks()}
	c.background(g.repair)
	return res, nil
}

// start asks the first targets: peers on their own goroutines, this node's
// own replica in the request's goroutine while they are asked (its answer
// joins theirs; replies has room for it).
func (g *get) start(ctx context.Context, first []membership.Target) {
	self := -1
	for i, t := range first {
		if t.HintFor == "" && t.ID == g.c.cluster.Self() {
			self = i
			continue
		}
		g.ask(t)
	}
	if self >= 0 {
		t := first[self]
		g.asked = append(g.asked, t.Member)
		g.tally.Asked(source(t))
		s, err := g.c.peers.Read(ctx, t, g.key)
		g.replies <- replyIn{from: t, set: s, err: err}
	}
}

func (g *get) ask(t membership.Target) {
	g.asked = append(g.asked, t.Member)
	g.tally.Asked(source(t))
	g.c.background(func(bctx context.Context) {
		s, err := g.c.peers.Read(bctx, t, g.key)
		g.replies <- replyIn{from: t, set: s, err: err}
	})
}

// askNext asks the next reserve target, or else a spare standing in for
// failed, which may hold the key as a hint for it.
func (g *get) askNext(failed *membership.Target) {
	switch {
	case len(g.reserve) > 0:
		g.ask(g.reserve[0])
		g.reserve = g.reserve[1:]
	case failed != nil && len(g.spares) > 0:
		g.ask(membership.Target{Member: g.spares[0], HintFor: failed.ReplicaOf()})
		g.spares = g.spares[1:]
	}
}

// record adds one reply to the tally.
func (g *get) record(rep replyIn) {
	kind, why := kindOf(rep.err), ""
	switch {
	case rep.err != nil:
		why = replicaFailure(rep.from.Member, rep.err)
	case rep.set.IsZero():
		kind = ReplyNotFound
	}
	g.tally.Reply(source(rep.from), kind, rep.set, why)
}

// wait collects replies until the read reached R or cannot.
func (g *get) wait(ctx context.Context) error {
	var speculate <-chan time.Time
	if len(g.reserve) > 0 {
		t := g.c.cfg.Time.NewTimer(g.c.cfg.ReadSpeculateAfter)
		defer t.Stop()
		speculate = t.C()
	}
	for g.tally.Outcome() == Pending {
		select {
		case rep := <-g.replies:
			g.record(rep)
			if rep.err != nil {
				g.c.log.Debug("replica read failed", "replica", rep.from.ID, "err", rep.err)
				g.askNext(&rep.from)
			}
		case <-speculate:
			speculate = nil
			g.askNext(nil)
		case <-ctx.Done():
			return &QuorumError{Op: "read", TimedOut: true, Acks: g.tally.Acks(), Required: g.tally.need, Why: g.tally.Why()}
		}
	}
	if o := g.tally.Outcome(); o != Reached {
		return failure("read", o, g.tally.Acks(), g.tally.need, g.tally.Why())
	}
	return nil
}

// repair waits (bounded) for the stragglers, then brings every replica
// that answered up to the merged state. It owns the read once Get returned.
func (g *get) repair(ctx context.Context) {
	deadline := g.c.cfg.Time.NewTimer(g.c.cfg.ReadRepairTimeout)
	defer deadline.Stop()
wait:
	for g.tally.Outstanding() > 0 {
		select {
		case rep := <-g.replies:
			if rep.err == nil {
				g.record(rep)
			} else {
				g.tally.Reply(source(rep.from), ReplyFailed, vclock.Set{}, "")
			}
		case <-deadline.C():
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	merged, stale := g.tally.Repairs()
	if len(stale) == 0 {
		return
	}
	body := wire.MergeRequest{Key: g.key, Set: merged}.Encode()
	for _, s := range stale {
		t := membership.Target{Member: g.member(s.ID)}
		if err := g.c.peers.Merge(ctx, t, body); err != nil {
			g.c.log.Debug("read repair failed", "replica", s.ID, "err", err)
			continue
		}
		g.c.readRepairs.Add(1)
	}
}

// member is the asked member called id (read repair's address for it).
func (g *get) member(id string) membership.Member {
	for _, m := range g.asked {
		if m.ID == id {
			return m
		}
	}
	return membership.Member{ID: id}
}
