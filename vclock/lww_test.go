package vclock

import "testing"

func TestLastWriterWins(t *testing.T) {
	var a, b Set
	a, _ = a.Write("n1", Context{}, Sibling{Value: []byte("old"), Modified: 10})
	b, _ = b.Write("n2", Context{}, Sibling{Value: []byte("new"), Modified: 20})
	merged := a.Merge(b)
	if len(merged.Siblings) != 2 {
		t.Fatalf("the concurrent writes should be siblings before resolution: %d", len(merged.Siblings))
	}
	won := merged.LastWriterWins()
	if len(won.Siblings) != 1 || string(won.Siblings[0].Value) != "new" || !won.Context.Equal(merged.Context) {
		t.Fatalf("LastWriterWins = %+v", won)
	}
	// A copy still holding the loser gives it up at the next merge.
	if again := won.Merge(a).LastWriterWins(); !again.Equal(won) {
		t.Errorf("the dropped sibling came back: %+v", again)
	}
	if again := a.Merge(won); len(again.Siblings) != 1 || string(again.Siblings[0].Value) != "new" {
		t.Errorf("merging the resolved set into the loser's copy: %+v", again)
	}
	// A write that saw the other wins whatever its stamp says.
	later, _ := won.Write("n1", won.Context, Sibling{Value: []byte("causal"), Modified: 1})
	if got := later.Merge(won).LastWriterWins(); string(got.Siblings[0].Value) != "causal" {
		t.Errorf("a causally later write lost to its stamp: %+v", got)
	}
	// Equal stamps: the higher dot, on every side.
	var c Set
	c, _ = c.Write("n3", Context{}, Sibling{Value: []byte("tie"), Modified: 20})
	x, y := b.Merge(c).LastWriterWins(), c.Merge(b).LastWriterWins()
	if !x.Equal(y) || string(x.Siblings[0].Value) != "tie" {
		t.Errorf("ties: %+v vs %+v", x, y)
	}
}

// Resolving at every step or only at the end gives the same set.
func TestLastWriterWinsCommutesWithMerge(t *testing.T) {
	var sets []Set
	for i, actor := range []string{"a", "b", "c", "d"} {
		var s Set
		s, _ = s.Write(actor, Context{}, Sibling{Value: []byte(actor), Modified: int64(100 - 10*(i%2))})
		sets = append(sets, s)
	}
	var end, step Set
	for _, s := range sets {
		end = end.Merge(s)
		step = step.Merge(s).LastWriterWins()
	}
	if !end.LastWriterWins().Equal(step) {
		t.Errorf("resolved at the end %+v, at each step %+v", end.LastWriterWins(), step)
	}
}
