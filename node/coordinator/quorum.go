// Package coordinator holds the pure decision core of request coordination:
// given the replies that have come in, has a read or a write reached its
// quorum, failed, or must it wait, and which replicas need read repair.
//
// It is kept free of goroutines, timers, clocks and I/O so that every quorum
// rule can be tested by plain table and model tests; the shell in package
// node owns the fan-out, the deadlines and the transport, and feeds what
// happens into a tally.
package coordinator

import (
	"fmt"

	"github.com/dynkv/dynkv/vclock"
)

// ReplyKind classifies one replica's answer.
type ReplyKind int

const (
	ReplyOK       ReplyKind = iota // answered with its state for the key
	ReplyNotFound                  // answered: it holds nothing for the key (an empty state)
	ReplyRefused                   // answered and refused (a stable error code, e.g. too_many_siblings)
	ReplyFailed                    // unreachable, broken connection, or another error: another target may be tried
	ReplyTimeout                   // asked but no answer before the deadline
)

// String names the kind; it is also the reason recorded for a failure whose
// caller gave none, so error messages never carry an empty entry.
func (k ReplyKind) String() string {
	switch k {
	case ReplyOK:
		return "ok"
	case ReplyNotFound:
		return "not_found"
	case ReplyRefused:
		return "refused"
	case ReplyFailed:
		return "failed"
	case ReplyTimeout:
		return "timeout"
	}
	return fmt.Sprintf("ReplyKind(%d)", int(k))
}

// acked reports whether the reply counts towards the quorum. Both tallies
// treat NotFound as an ack: for a read it is a valid (empty) state, for a
// merge it means the replica stored what it was sent. Any kind outside the
// known ones is a failure, the safe reading of an answer nobody understands.
func (k ReplyKind) acked() bool { return k == ReplyOK || k == ReplyNotFound }

// Outcome is where a request stands.
type Outcome int

const (
	Pending     Outcome = iota // not enough replies yet, but enough are still outstanding
	Reached                    // the quorum is met
	Unavailable                // too few replicas can still answer (a 503 later)
	TimedOut                   // as Unavailable, but some replica that might have answered ran out of time (a 504 later)
)

// String names the outcome for logs and test failures.
func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case Reached:
		return "reached"
	case Unavailable:
		return "unavailable"
	case TimedOut:
		return "timed_out"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Source names the target a reply came from.
type Source struct {
	ID       string // node id
	Fallback bool   // a stand-in (sloppy quorum) holding data as a hint for another replica; never read-repaired
}

// counts is the bookkeeping both tallies share. Only counts are kept, not
// which source is outstanding: the shell is the one that knows its targets,
// and the quorum rule needs nothing more than how many could still answer.
type counts struct {
	need        int
	acks        int
	outstanding int
	timedOut    bool // some failure so far was a timeout
	why         []string
}

// newCounts treats a need below one as one: a quorum of nobody would answer
// without asking anyone, which no caller means.
func newCounts(need int) counts { return counts{need: max(need, 1)} }

func (c *counts) asked() { c.outstanding++ }

// replied records one answer. outstanding is clamped at zero so that a reply
// the shell never announced with Asked (say, its own replica read inline)
// cannot make the tally believe fewer replicas are in flight than zero; the
// ack still counts.
func (c *counts) replied(kind ReplyKind, why string) {
	if c.outstanding > 0 {
		c.outstanding--
	}
	if kind.acked() {
		c.acks++
		return
	}
	if why == "" {
		why = kind.String()
	}
	c.why = append(c.why, why)
	c.timedOut = c.timedOut || kind == ReplyTimeout
}

// outcome is computed from the current counts on every call rather than
// latched, except that Reached is final because acks never decrease. A
// failed outcome is not final: the shell may send a stand-in (Asked) after a
// failure and before it checks, which puts one more replica in flight and
// can bring Unavailable or TimedOut back to Pending. This mirrors the
// coordinator loop, which replaces a failed target before testing
// acks+outstanding < need.
func (c *counts) outcome() Outcome {
	switch {
	case c.acks >= c.need:
		return Reached
	case c.acks+c.outstanding >= c.need:
		return Pending
	case c.timedOut:
		return TimedOut
	default:
		return Unavailable
	}
}

// whyCopy hands out the reasons without letting the caller append into the
// tally's own slice.
func (c *counts) whyCopy() []string { return append([]string(nil), c.why...) }

// readReply is an answer that carried a state (OK or NotFound), kept for
// read repair.
type readReply struct {
	from Source
	set  vclock.Set
}

// ReadTally follows one quorum read. Replies that arrive after the quorum is
// Reached are still recorded: the client has its answer, but read repair
// wants the freshest merge and every replica that answered.
type ReadTally struct {
	counts
	merged   vclock.Set
	answered []readReply
	// lww resolves the merge to its last writer (an lww bucket): the client
	// reads one version and read repair writes that one.
	lww bool
}

// NewReadTallyLWW starts a read of an lww bucket's key that needs r acks.
func NewReadTallyLWW(r int) *ReadTally { return &ReadTally{counts: newCounts(r), lww: true} }

// NewReadTally starts a read that needs r acks.
func NewReadTally(r int) *ReadTally { return &ReadTally{counts: newCounts(r)} }

// Asked records that a request went out to s: one more outstanding.
func (t *ReadTally) Asked(s Source) { t.asked() }

// Reply records s's answer. set is used for ReplyOK only: NotFound is an
// empty state whatever set says. why is a short reason kept for failures
// (ignored for OK and NotFound). A refusal is a failure like any other for a
// read, since another replica may well answer.
func (t *ReadTally) Reply(s Source, kind ReplyKind, set vclock.Set, why string) {
	t.replied(kind, why)
	switch kind {
	case ReplyOK:
		t.merged = t.merged.Merge(set)
		t.answered = append(t.answered, readReply{from: s, set: set})
	case ReplyNotFound:
		t.answered = append(t.answered, readReply{from: s})
	}
}

// Outcome is where the read stands now; see counts.outcome for why a
// failure can turn back into Pending.
func (t *ReadTally) Outcome() Outcome { return t.outcome() }

// Acks is the number of OK and NotFound replies so far.
func (t *ReadTally) Acks() int { return t.acks }

// Result is the causal merge of every OK reply so far, the zero Set if none:
// what the client is answered with once the read is Reached. In an lww
// bucket it is the merge's last writer (vclock.Set.LastWriterWins), the
// one version such a bucket keeps of concurrent writes (docs/GUARANTEES.md,
// "Buckets").
func (t *ReadTally) Result() vclock.Set {
	if t.lww {
		return t.merged.LastWriterWins()
	}
	return t.merged
}

// Why lists the failure reasons in arrival order, for the client's error.
func (t *ReadTally) Why() []string { return t.whyCopy() }

// Outstanding is how many asked replicas have not answered yet.
func (t *ReadTally) Outstanding() int { return t.outstanding }

// Repairs is read repair's plan, meant to be taken after the read answered
// and the stragglers had a bounded time to reply: the merge of every OK reply
// received (including those after Reached), and the sources that answered
// (OK or NotFound), are not Fallback, and whose state differs from that
// merge, in reply order. Fallbacks are left out because what they hold is a
// hint for another replica, which reaches it by handoff; replicas that never
// answered are left to anti-entropy.
//
// In an lww bucket the merge is Result's resolved set: what the replicas
// are brought to, and what a replica is stale against.
func (t *ReadTally) Repairs() (merged vclock.Set, stale []Source) {
	merged = t.Result()
	for _, rep := range t.answered {
		if !rep.from.Fallback && !rep.set.Equal(merged) {
			stale = append(stale, rep.from)
		}
	}
	return merged, stale
}

// WriteTally follows the replication of one write after its dot was minted.
type WriteTally struct {
	counts
}

// NewWriteTally starts a write that needs w acks.
func NewWriteTally(w int) *WriteTally { return &WriteTally{counts: newCounts(w)} }

// Minted records that the replica that minted the write's dot stored it: it
// counts as one ack without ever having been outstanding.
func (t *WriteTally) Minted(s Source) { t.acks++ }

// Asked records that a merge went out to s: one more outstanding.
func (t *WriteTally) Asked(s Source) { t.asked() }

// Reply records a merge's answer and reports whether the shell should send a
// stand-in (the next spare node) in place of s. A target that failed or timed
// out may be down, so a spare can keep the write as a hint for it. A refusal
// gets no stand-in: the target answered, and another node would refuse the
// same. NotFound is an ack for a merge. The answer depends on the kind alone;
// once the write is Reached the shell stops waiting and need not act on it.
func (t *WriteTally) Reply(s Source, kind ReplyKind, why string) (standIn bool) {
	t.replied(kind, why)
	return !kind.acked() && kind != ReplyRefused
}

// Outcome is where the write stands now; see counts.outcome for why a
// failure can turn back into Pending.
func (t *WriteTally) Outcome() Outcome { return t.outcome() }

// Acks is the number of replicas that stored the write: the minting replica
// plus every OK or NotFound merge reply.
func (t *WriteTally) Acks() int { return t.acks }

// Why lists the failure reasons in arrival order, for the client's error.
func (t *WriteTally) Why() []string { return t.whyCopy() }

// Outstanding is how many merges have not been answered yet.
func (t *WriteTally) Outstanding() int { return t.outstanding }
