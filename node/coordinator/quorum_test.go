package coordinator

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"testing/quick"

	"github.com/dynkv/dynkv/vclock"
)

var allKinds = []ReplyKind{ReplyOK, ReplyNotFound, ReplyRefused, ReplyFailed, ReplyTimeout}

// States of one key for the tables: b descends a, c is concurrent with b,
// so a read that sees both b and c must answer with two siblings.
var stA, stB, stC, stBC = func() (a, b, c, bc vclock.Set) {
	a, _ = vclock.Set{}.Write("a", vclock.Context{}, vclock.Sibling{Value: []byte("v0")})
	b, _ = a.Write("a", a.Context, vclock.Sibling{Value: []byte("x")})
	c, _ = a.Write("b", a.Context, vclock.Sibling{Value: []byte("y")})
	return a, b, c, b.Merge(c)
}()

// pool is the state the j-th replying source holds when it answers OK.
var pool = []vclock.Set{stB, stC, stA}

// fold is the obvious merge of OK replies: Merge over them in order.
func fold(sets []vclock.Set) (out vclock.Set) {
	for _, set := range sets {
		out = out.Merge(set)
	}
	return out
}

// multisets returns every multiset of n kinds, each as a non-decreasing list.
func multisets(n, from int) [][]ReplyKind {
	if n == 0 {
		return [][]ReplyKind{nil}
	}
	var out [][]ReplyKind
	for i := from; i < len(allKinds); i++ {
		for _, rest := range multisets(n-1, i) {
			out = append(out, append([]ReplyKind{allKinds[i]}, rest...))
		}
	}
	return out
}

// forEachMix calls f for every need of 1..n and every multiset of n kinds,
// n = 1..5, each in a few arrival orders: as generated, reversed, rotated.
func forEachMix(f func(need int, seq []ReplyKind)) {
	for n := 1; n <= 5; n++ {
		for need := 1; need <= n; need++ {
			for _, ms := range multisets(n, 0) {
				for _, seq := range orders(ms) {
					f(need, seq)
				}
			}
		}
	}
}

func isAck(k ReplyKind) bool { return k == ReplyOK || k == ReplyNotFound }

// orders gives a multiset in a few arrival orders: as generated, reversed,
// and rotated by one.
func orders(ms []ReplyKind) [][]ReplyKind {
	rev := slices.Clone(ms)
	slices.Reverse(rev)
	rot := append(slices.Clone(ms[1:]), ms[0])
	return [][]ReplyKind{ms, rev, rot}
}

// wantOutcome states the quorum rule the classical way, independently of
// the acks+outstanding formulation: with total targets and base free acks, a
// request is reached once base plus the acks seen reach need, and has failed
// once more than total-need+base targets failed.
func wantOutcome(need, base, total int, prefix []ReplyKind) Outcome {
	acks, fails, timeout := base, 0, false
	for _, k := range prefix {
		if isAck(k) {
			acks++
		} else {
			fails++
			timeout = timeout || k == ReplyTimeout
		}
	}
	switch {
	case acks >= need:
		return Reached
	case fails <= base+total-need:
		return Pending
	case timeout:
		return TimedOut
	}
	return Unavailable
}

func src(j int) Source { return Source{ID: fmt.Sprintf("n%d", j), Fallback: j == 2} }

func TestReadTallyGenerated(t *testing.T) {
	rows := 0
	forEachMix(func(r int, seq []ReplyKind) { checkReadSeq(t, r, seq); rows++ })
	t.Logf("%d generated read rows", rows)
}

func checkReadSeq(t *testing.T, r int, seq []ReplyKind) {
	t.Helper()
	tally := NewReadTally(r)
	for j := range seq {
		tally.Asked(src(j))
	}
	name := fmt.Sprintf("r=%d %v", r, seq)
	var okSets []vclock.Set
	acks := 0
	for j := 0; j <= len(seq); j++ {
		if j > 0 {
			k := seq[j-1]
			tally.Reply(src(j-1), k, pool[(j-1)%len(pool)], "")
			if k == ReplyOK {
				okSets = append(okSets, pool[(j-1)%len(pool)])
			}
			if isAck(k) {
				acks++
			}
		}
		if got, want := tally.Outcome(), wantOutcome(r, 0, len(seq), seq[:j]); got != want {
			t.Fatalf("%s: after %d replies %v, want %v", name, j, got, want)
		}
		if tally.Acks() != acks || tally.Outstanding() != len(seq)-j || !tally.Result().Equal(fold(okSets)) {
			t.Fatalf("%s: after %d replies acks %d outstanding %d, or wrong result", name, j, tally.Acks(), tally.Outstanding())
		}
	}
	merged, stale := tally.Repairs()
	var wantStale []Source
	for j, k := range seq {
		state := pool[j%len(pool)]
		if k == ReplyNotFound {
			state = vclock.Set{}
		}
		if isAck(k) && !src(j).Fallback && !state.Equal(fold(okSets)) {
			wantStale = append(wantStale, src(j))
		}
	}
	if !merged.Equal(fold(okSets)) || !slices.Equal(stale, wantStale) || len(tally.Why()) != len(seq)-acks {
		t.Fatalf("%s: stale %v, want %v, or merged or reasons wrong", name, stale, wantStale)
	}
}

func TestWriteTallyGenerated(t *testing.T) {
	rows := 0
	forEachMix(func(w int, seq []ReplyKind) {
		checkWriteSeq(t, w, false, seq)
		checkWriteSeq(t, w, true, seq)
		rows += 2
	})
	t.Logf("%d generated write rows", rows)
}

func checkWriteSeq(t *testing.T, w int, minted bool, seq []ReplyKind) {
	t.Helper()
	tally := NewWriteTally(w)
	base := 0
	if minted {
		tally.Minted(Source{ID: "minter"})
		base = 1
	}
	for j := range seq {
		tally.Asked(src(j))
	}
	name := fmt.Sprintf("w=%d minted=%v %v", w, minted, seq)
	acks := base
	for j := 0; j <= len(seq); j++ {
		if j > 0 {
			k := seq[j-1]
			if standIn, want := tally.Reply(src(j-1), k, ""), k == ReplyFailed || k == ReplyTimeout; standIn != want {
				t.Fatalf("%s: reply %v standIn %v, want %v", name, k, standIn, want)
			}
			if isAck(k) {
				acks++
			}
		}
		if got, want := tally.Outcome(), wantOutcome(w, base, len(seq), seq[:j]); got != want {
			t.Fatalf("%s: after %d replies %v, want %v", name, j, got, want)
		}
		if tally.Acks() != acks || tally.Outstanding() != len(seq)-j {
			t.Fatalf("%s: after %d replies acks %d (want %d) outstanding %d", name, j, tally.Acks(), acks, tally.Outstanding())
		}
	}
}

// step is one step of a hand-written read row: ask means Asked(from).
type step struct {
	ask  bool
	from Source
	kind ReplyKind
	set  vclock.Set
	why  string
	want Outcome
}

func ask(id string, want Outcome) step { return step{ask: true, from: Source{ID: id}, want: want} }

func rep(id string, k ReplyKind, set vclock.Set, want Outcome) step {
	return step{from: Source{ID: id}, kind: k, set: set, why: id + " " + k.String(), want: want}
}

func fb(s step) step { s.from.Fallback = true; return s }

// asked3 asks three replicas for a read needing r. Until r are in flight
// the outcome, computed from the counts alone, is Unavailable.
func asked3(r int) []step {
	var steps []step
	for i := range 3 {
		want := Unavailable
		if i+1 >= r {
			want = Pending
		}
		steps = append(steps, ask(fmt.Sprint("n", i), want))
	}
	return steps
}

func TestReadTallyRows(t *testing.T) {
	var zero vclock.Set
	rows := []struct {
		name   string
		r      int
		steps  []step
		result vclock.Set // Result and the repair's merge, after every step
		stale  []string
	}{
		{name: "ok timeout failed is a 504", r: 2, steps: append(asked3(2),
			rep("n0", ReplyOK, stA, Pending), rep("n1", ReplyTimeout, zero, Pending), rep("n2", ReplyFailed, zero, TimedOut)), result: stA},
		{name: "ok failed failed is a 503", r: 2, steps: append(asked3(2),
			rep("n0", ReplyOK, stA, Pending), rep("n1", ReplyFailed, zero, Pending), rep("n2", ReplyFailed, zero, Unavailable)), result: stA},
		{name: "refused is a failure for reads", r: 3, steps: append(asked3(3),
			rep("n0", ReplyOK, stA, Pending), rep("n1", ReplyRefused, zero, Unavailable)), result: stA},
		{name: "not found plus ok: the empty replica is stale", r: 2, steps: append(asked3(2),
			rep("n0", ReplyNotFound, zero, Pending), rep("n1", ReplyOK, stB, Reached)), result: stB, stale: []string{"n0"}},
		{name: "all not found: nothing to repair", r: 2, steps: append(asked3(2),
			rep("n0", ReplyNotFound, zero, Pending), rep("n1", ReplyNotFound, zero, Reached)), result: zero},
		{name: "concurrent siblings: both sources stale", r: 2, steps: append(asked3(2),
			rep("n0", ReplyOK, stB, Pending), rep("n1", ReplyOK, stC, Reached)), result: stBC, stale: []string{"n0", "n1"}},
		{name: "a fallback is never stale", r: 2, steps: append(asked3(2),
			fb(rep("n0", ReplyOK, stA, Pending)), rep("n1", ReplyOK, stB, Reached)), result: stB},
		{name: "reached stays reached; late replies join the repair", r: 1, steps: append(asked3(1),
			rep("n0", ReplyOK, stA, Reached), rep("n1", ReplyTimeout, zero, Reached), rep("n2", ReplyOK, stB, Reached)),
			result: stB, stale: []string{"n0"}},
		{name: "r=0 is r=1", r: 0, steps: []step{ask("n0", Pending), rep("n0", ReplyOK, stA, Reached)}, result: stA},
		{name: "a stand-in brings a failed read back to pending", r: 2, steps: []step{
			ask("n0", Unavailable), ask("n1", Pending), rep("n0", ReplyFailed, zero, Unavailable),
			fb(ask("s0", Pending)), rep("n1", ReplyOK, stA, Pending), fb(rep("s0", ReplyOK, stA, Reached))}, result: stA},
		{name: "unasked reply: outstanding clamps, the ack counts", r: 2, steps: []step{
			rep("self", ReplyOK, stA, Unavailable), ask("n1", Pending), rep("n1", ReplyOK, stA, Reached)}, result: stA},
	}
	for _, row := range rows {
		tally := NewReadTally(row.r)
		var why []string
		for i, s := range row.steps {
			if s.ask {
				tally.Asked(s.from)
			} else if tally.Reply(s.from, s.kind, s.set, s.why); !isAck(s.kind) {
				why = append(why, s.why)
			}
			if got := tally.Outcome(); got != s.want || tally.Outstanding() < 0 {
				t.Fatalf("%s: step %d: %v (outstanding %d), want %v", row.name, i, got, tally.Outstanding(), s.want)
			}
		}
		if !tally.Result().Equal(row.result) {
			t.Fatalf("%s: wrong result %+v", row.name, tally.Result())
		}
		merged, stale := tally.Repairs()
		var ids []string
		for _, s := range stale {
			ids = append(ids, s.ID)
		}
		if !merged.Equal(row.result) || !slices.Equal(ids, row.stale) {
			t.Fatalf("%s: repairs stale %v, want %v (merged ok: %v)", row.name, ids, row.stale, merged.Equal(row.result))
		}
		if !slices.Equal(tally.Why(), why) {
			t.Fatalf("%s: why %q, want %q", row.name, tally.Why(), why)
		}
	}
	if got := len(stBC.Siblings); got != 2 {
		t.Fatalf("concurrent merge has %d siblings, want 2", got)
	}
}

func TestWriteTallyRows(t *testing.T) {
	type wstep struct {
		op      string // "mint", "ask" or a reply kind
		kind    ReplyKind
		standIn bool
		want    Outcome
	}
	m := func(want Outcome) wstep { return wstep{op: "mint", want: want} }
	a := func(want Outcome) wstep { return wstep{op: "ask", want: want} }
	r := func(k ReplyKind, standIn bool, want Outcome) wstep {
		return wstep{kind: k, standIn: standIn, want: want}
	}
	rows := []struct {
		name  string
		w     int
		steps []wstep
		acks  int
		why   int
	}{
		{"minted plus one ok", 2, []wstep{m(Unavailable), a(Pending), a(Pending), r(ReplyOK, false, Reached)}, 2, 0},
		{"w=1 is reached by the minter alone", 1, []wstep{m(Reached), a(Reached), r(ReplyFailed, true, Reached)}, 1, 1},
		{"refused: no stand-in, 503", 3, []wstep{m(Unavailable), a(Unavailable), a(Pending), r(ReplyRefused, false, Unavailable)}, 1, 1},
		{"failed then a stand-in", 3, []wstep{m(Unavailable), a(Unavailable), a(Pending), r(ReplyFailed, true, Unavailable),
			a(Pending), r(ReplyOK, false, Pending), r(ReplyNotFound, false, Reached)}, 3, 1},
		{"timeout is a 504", 3, []wstep{m(Unavailable), a(Unavailable), a(Pending), r(ReplyOK, false, Pending), r(ReplyTimeout, true, TimedOut)}, 2, 1},
		{"failed then timeout is a 504", 2, []wstep{a(Unavailable), a(Pending), r(ReplyFailed, true, Unavailable), r(ReplyTimeout, true, TimedOut)}, 0, 2},
		{"not found is an ack for a merge", 2, []wstep{a(Unavailable), a(Pending), r(ReplyNotFound, false, Pending), r(ReplyNotFound, false, Reached)}, 2, 0},
		{"w=-3 is w=1", -3, []wstep{a(Pending), r(ReplyOK, false, Reached)}, 1, 0},
		{"unasked reply clamps", 2, []wstep{r(ReplyOK, false, Unavailable), a(Pending), r(ReplyOK, false, Reached)}, 2, 0},
	}
	for _, row := range rows {
		tally := NewWriteTally(row.w)
		for i, s := range row.steps {
			switch s.op {
			case "mint":
				tally.Minted(Source{ID: "minter"})
			case "ask":
				tally.Asked(Source{ID: fmt.Sprint("n", i)})
			default:
				if got := tally.Reply(Source{ID: fmt.Sprint("n", i)}, s.kind, ""); got != s.standIn {
					t.Fatalf("%s: step %d: standIn %v", row.name, i, got)
				}
			}
			if got := tally.Outcome(); got != s.want || tally.Outstanding() < 0 {
				t.Fatalf("%s: step %d: %v, want %v", row.name, i, got, s.want)
			}
		}
		if tally.Acks() != row.acks || len(tally.Why()) != row.why {
			t.Fatalf("%s: acks %d why %q", row.name, tally.Acks(), tally.Why())
		}
	}
}

// event is one thing the shell tells a tally: an Asked, a Minted (writes
// only; reads skip it), or a reply of some kind, possibly outside the enum.
type event struct {
	ask, mint bool
	kind      ReplyKind
}

// decode turns quick's random bytes into events: 40% Asked, 10% Minted,
// the rest replies of every kind and one past the enum (unknown). Replies
// no Asked announced come up naturally.
func decode(raw []byte) []event {
	events := make([]event, len(raw))
	for i, b := range raw {
		switch {
		case b%10 < 4:
			events[i].ask = true
		case b%10 < 5:
			events[i].mint = true
		default:
			events[i].kind = ReplyKind(int(b/10) % (len(allKinds) + 1))
		}
	}
	return events
}

// model is the obvious reading of the rule: walk the prefix and count.
func model(need int, events []event, write bool) (_ Outcome, acks, outstanding, fails int) {
	if need < 1 {
		need = 1
	}
	timeout := false
	for _, e := range events {
		switch {
		case e.mint && write:
			acks++
		case e.mint:
		case e.ask:
			outstanding++
		default:
			if outstanding > 0 {
				outstanding--
			}
			if isAck(e.kind) {
				acks++
			} else {
				fails++
				timeout = timeout || e.kind == ReplyTimeout
			}
		}
	}
	switch {
	case acks >= need:
		return Reached, acks, outstanding, fails
	case acks+outstanding >= need:
		return Pending, acks, outstanding, fails
	case timeout:
		return TimedOut, acks, outstanding, fails
	}
	return Unavailable, acks, outstanding, fails
}

// tally is what both tallies share, so one property drives either.
type tally interface {
	Asked(Source)
	Outcome() Outcome
	Acks() int
	Outstanding() int
	Why() []string
}

func TestTalliesMatchModel(t *testing.T) {
	for _, write := range []bool{false, true} {
		prop := func(rawNeed int8, raw []byte) bool {
			need, events := int(rawNeed)%7-1, decode(raw) // need -7..5: below one included
			rt, wt := NewReadTally(need), NewWriteTally(need)
			var tl tally = rt
			if write {
				tl = wt
			}
			for i, e := range events {
				from := Source{ID: fmt.Sprint("n", i)}
				switch {
				case e.mint && write:
					wt.Minted(from)
				case e.mint:
				case e.ask:
					tl.Asked(from)
				case !write:
					rt.Reply(from, e.kind, stA, "")
				case wt.Reply(from, e.kind, "") != (!isAck(e.kind) && e.kind != ReplyRefused):
					t.Logf("standIn wrong for %v", e.kind)
					return false
				}
				out, acks, outstanding, fails := model(need, events[:i+1], write)
				got := [4]int{int(tl.Outcome()), tl.Acks(), tl.Outstanding(), len(tl.Why())}
				if want := [4]int{int(out), acks, outstanding, fails}; got != want {
					t.Logf("need %d, step %d of %+v: got %v, want %v", need, i, events, got, want)
					return false
				}
			}
			return true
		}
		if err := quick.Check(prop, &quick.Config{MaxCount: 3000}); err != nil {
			t.Fatalf("write=%v: %v", write, err)
		}
	}
}

// randomStates returns reachable states of one key across a few replicas,
// as the vclock tests build them: writes from random contexts and merges.
func randomStates(rng *rand.Rand, steps int) []vclock.Set {
	actors := []string{"a", "b", "c", "d"}
	states := make([]vclock.Set, len(actors))
	ctxs := []vclock.Context{{}}
	for i := range steps {
		r := rng.Intn(len(actors))
		if rng.Intn(3) < 2 {
			ctx := ctxs[rng.Intn(len(ctxs))]
			sib := vclock.Sibling{Value: fmt.Appendf(nil, "%d", i), Deleted: rng.Intn(5) == 0}
			states[r], _ = states[r].Write(actors[r], ctx, sib)
		} else {
			states[r] = states[r].Merge(states[rng.Intn(len(states))])
		}
		ctxs = append(ctxs, states[rng.Intn(len(states))].Context)
	}
	return states
}

func TestMergeIsFoldInAnyOrder(t *testing.T) {
	for seed := int64(0); seed < 400; seed++ {
		rng := rand.New(rand.NewSource(seed))
		states := randomStates(rng, 1+rng.Intn(25))
		folded := fold(states)
		tally := NewReadTally(1 + rng.Intn(len(states)))
		perm := rng.Perm(len(states))
		for _, i := range perm {
			from := Source{ID: fmt.Sprint("n", i)}
			tally.Asked(from)
			if rng.Intn(3) == 0 {
				tally.Reply(Source{ID: "gone"}, ReplyFailed, stBC, "") // a failure's set is ignored
			}
			tally.Reply(from, ReplyOK, states[i], "")
		}
		merged, stale := tally.Repairs()
		var wantStale []Source
		reversed := make([]vclock.Set, 0, len(perm)) // the replies folded in reverse arrival order
		for k, i := range perm {
			if !states[i].Equal(folded) {
				wantStale = append(wantStale, Source{ID: fmt.Sprint("n", i)})
			}
			reversed = append(reversed, states[perm[len(perm)-1-k]])
		}
		if !tally.Result().Equal(folded) || !merged.Equal(folded) || !fold(reversed).Equal(folded) || !slices.Equal(stale, wantStale) {
			t.Fatalf("seed %d: order %v: merge differs from the fold, or stale %v, want %v", seed, perm, stale, wantStale)
		}
	}
}
