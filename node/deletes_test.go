package node

import (
	"testing"
	"time"
)

// docs/GUARANTEES.md, G6: a delete on one side of a partition and a write to the
// same key on the other both survive as siblings; a key deleted while a
// replica was cut off stays deleted through hints and anti-entropy.
func TestDeleteAcrossPartition(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 5, Configure: manualLoops})
	key, pref := keyOwnedBy(t, c.Node(0), "n1")
	if _, err := c.Node(0).Put(t.Context(), WriteRequest{Key: key, Value: []byte("v0"), W: 3}); err != nil {
		t.Fatal(err)
	}
	read, err := c.Node(0).Get(t.Context(), key, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the first replica (and a bystander) from the rest.
	left := []string{pref[0], otherThan(pref, 0)}
	var right []string
	for i := range 5 {
		if id := NodeID(i); id != left[0] && id != left[1] {
			right = append(right, id)
		}
	}
	c.Net.Partition(left, right)
	if _, err := c.Node(indexOf(left[0])).Put(t.Context(), WriteRequest{Key: key, Context: read.Set.Context, Delete: true, W: 2}); err != nil {
		t.Fatalf("delete on the left: %v", err)
	}
	if _, err := c.Node(indexOf(right[0])).Put(t.Context(), WriteRequest{Key: key, Context: read.Set.Context, Value: []byte("concurrent"), W: 2}); err != nil {
		t.Fatalf("write on the right: %v", err)
	}
	c.Net.Heal()
	settle(t, c, 10*time.Second, "replicas agree on the tombstone and the concurrent write", func() bool {
		for _, id := range pref {
			s, err := c.Node(indexOf(id)).readLocal(key)
			if err != nil || len(s.Siblings) != 2 || len(s.Live(0)) != 1 || string(s.Live(0)[0].Value) != "concurrent" {
				return false
			}
		}
		return true
	})

	// Now delete with a context that saw everything while a replica is cut
	// off; after healing, nothing comes back.
	read, err = c.Node(0).Get(t.Context(), key, 3)
	if err != nil {
		t.Fatal(err)
	}
	c.Net.Isolate(pref[2])
	if _, err := c.Node(0).Put(t.Context(), WriteRequest{Key: key, Context: read.Set.Context, Delete: true, W: 2}); err != nil {
		t.Fatal(err)
	}
	c.Net.Heal()
	settle(t, c, 10*time.Second, "every replica holds only the tombstone", func() bool {
		for _, id := range pref {
			s, err := c.Node(indexOf(id)).readLocal(key)
			if err != nil || len(s.Siblings) != 1 || !s.Siblings[0].Deleted {
				return false
			}
		}
		return true
	})
	for range 3 {
		tick(t, c)
	}
	res, err := c.Node(3).Get(t.Context(), key, 3)
	if err != nil || len(res.Set.Live(0)) != 0 {
		t.Fatalf("deleted key came back: %v %v", err, liveValues(res.Set))
	}
}

// otherThan returns a node ID not in ids, skipping the first skip matches.
func otherThan(ids []string, skip int) string {
	for i := 0; ; i++ {
		id := NodeID(i)
		found := false
		for _, x := range ids {
			found = found || x == id
		}
		if !found {
			if skip == 0 {
				return id
			}
			skip--
		}
	}
}

// Done-when 5, last part: tombstones are reaped only after the grace period
// and only once every replica holds the same tombstone; a lagging replica
// or a surviving sibling keeps them.
func TestTombstoneReaping(t *testing.T) {
	clock := newSimClock(4)
	c := startSimCluster(t, 4, false, clock, func(cfg *Config) { cfg.TombstoneGrace = time.Hour })
	key, pref := keyOwnedBy(t, c.Node(0), "n1")
	owner := c.Node(0)
	write := func(del bool, value string) {
		t.Helper()
		res, err := owner.Get(t.Context(), key, 3)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owner.Put(t.Context(), WriteRequest{Key: key, Context: res.Set.Context, Value: []byte(value), Delete: del, W: 3}); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() int {
		held := 0
		for _, id := range pref {
			if s, _ := c.Node(indexOf(id)).readLocal(key); !s.IsZero() {
				held++
			}
		}
		return held
	}
	write(false, "v")
	write(true, "")

	// Too young.
	if st, _ := owner.ReapTombstonesOnce(t.Context()); st.Reaped != 0 {
		t.Fatalf("reaped before the grace period: %+v", st)
	}
	clock.advance(2 * time.Hour)

	// A replica that lags (holds an older state) blocks reaping.
	lagging := c.Node(indexOf(pref[2]))
	c.Net.Isolate(pref[2])
	write(false, "v2")
	write(true, "")
	c.Net.Heal()
	clock.advance(2 * time.Hour)
	if st, _ := owner.ReapTombstonesOnce(t.Context()); st.Reaped != 0 || st.Candidates != 1 {
		t.Fatalf("reaped while %s lags: %+v", lagging.ID(), st)
	}
	// Anti-entropy brings it up to date; then the tombstone goes everywhere.
	tick(t, c)
	tick(t, c)
	if st, _ := owner.ReapTombstonesOnce(t.Context()); st.Reaped != 1 {
		t.Fatalf("not reaped once replicas agree: %+v", st)
	}
	if held := stored(); held != 0 {
		t.Fatalf("%d replicas still hold the key", held)
	}
	// Nothing comes back through anti-entropy or reads.
	tick(t, c)
	if res, err := c.Node(3).Get(t.Context(), key, 3); err != nil || !res.Set.IsZero() {
		t.Fatalf("after reaping: %v %v", err, res.Set)
	}

	// A live sibling beside the tombstone keeps the key.
	write(false, "again")
	res, _ := owner.Get(t.Context(), key, 3)
	c.Net.Isolate(pref[1])
	_, _ = owner.Put(t.Context(), WriteRequest{Key: key, Context: res.Set.Context, Delete: true, W: 2})
	c.Net.Heal()
	_, _ = c.Node(indexOf(pref[1])).Put(t.Context(), WriteRequest{Key: key, Context: res.Set.Context, Value: []byte("concurrent"), W: 1})
	tick(t, c)
	tick(t, c)
	clock.advance(2 * time.Hour)
	if st, _ := owner.ReapTombstonesOnce(t.Context()); st.Reaped != 0 {
		t.Fatalf("reaped a key with a live sibling: %+v", st)
	}
	if held := stored(); held != 3 {
		t.Fatalf("replicas holding the key: %d", held)
	}
}
