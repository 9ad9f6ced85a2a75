package node

import (
	"testing"
	"time"
)

// Done-when 5 (G6): a delete on one side of a partition and a write to the
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
			if err != nil || len(s.Siblings) != 2 || len(s.Live()) != 1 || string(s.Live()[0].Value) != "concurrent" {
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
	if err != nil || len(res.Set.Live()) != 0 {
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
