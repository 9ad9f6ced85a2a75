package membership

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/ring"
)

func newTestTracker(t *testing.T, src Membership, changes *[]bool) (*Tracker, *clock.Manual) {
	t.Helper()
	now := clock.NewManual(time.Unix(0, 0))
	draining := false
	tr, err := NewTracker(TrackerConfig{
		Self: "n1", Ring: ring.DefaultConfig(), Source: src,
		Health:   NewHealth(now.Now, 2*time.Second),
		Draining: func() bool { return draining },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnChange: func(_ *View, ringChanged bool) { *changes = append(*changes, ringChanged) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr, now
}

// The ring is rebuilt only when the members on it change: a status flap
// (a failure, a suspicion) moves no data.
func TestTrackerRebuildsRingOnlyOnMembershipChange(t *testing.T) {
	static := NewStaticMembership(Member{ID: "n1"}, Member{ID: "n2"}, Member{ID: "n3"})
	var changes []bool
	tr, _ := newTestTracker(t, static.View(), &changes)
	tr.Rebuild()
	first := tr.View().Ring
	if got := first.Members(); len(got) != 3 {
		t.Fatalf("ring members %v", got)
	}
	static.SetStatus("n2", StatusFailed)
	tr.Rebuild()
	if tr.View().Ring != first {
		t.Fatal("a failed member rebuilt the ring")
	}
	if tr.View().Member("n2").Status != StatusFailed {
		t.Fatalf("view still says %v", tr.View().Member("n2"))
	}
	static.Set(Member{ID: "n3", Status: StatusAlive, Tags: map[string]string{TagState: StateLeaving}})
	tr.Rebuild()
	if got := tr.View().Ring.Members(); len(got) != 2 || tr.View().Ring == first {
		t.Fatalf("a leaving member stayed on the ring: %v", got)
	}
	if want := []bool{true, false, true}; len(changes) != len(want) || changes[0] != want[0] || changes[1] != want[1] || changes[2] != want[2] {
		t.Fatalf("ring changes reported %v, want %v", changes, want)
	}
	if m := tr.View().Member("gone"); m.Status != StatusFailed {
		t.Fatalf("an unknown member should read as failed, got %v", m)
	}
}

// A peer this node failed to reach is avoided for the cool-down, measured
// on the tracker's clock, then tried again; gossip's verdict applies too.
func TestTrackerUsable(t *testing.T) {
	static := NewStaticMembership(Member{ID: "n1"}, Member{ID: "n2"}, Member{ID: "n3", Status: StatusSuspect})
	var changes []bool
	tr, now := newTestTracker(t, static.View(), &changes)
	tr.Rebuild()
	if !tr.UsableID("n2") || tr.UsableID("n3") || tr.UsableID("nobody") {
		t.Fatal("usable: want n2 yes, a suspect n3 and an unknown member no")
	}
	tr.Health().Failed("n2")
	if tr.UsableID("n2") {
		t.Fatal("a peer that just failed is usable")
	}
	now.Advance(time.Second)
	if tr.UsableID("n2") {
		t.Fatal("usable before its cool-down ended")
	}
	now.Advance(time.Second + time.Nanosecond)
	if !tr.UsableID("n2") {
		t.Fatal("not usable after its cool-down")
	}
	tr.Health().Failed("n2")
	tr.Health().Succeeded("n2")
	if !tr.UsableID("n2") {
		t.Fatal("a peer that answered again is still avoided")
	}
	if !tr.UsableID("n1") {
		t.Fatal("this node should be usable while it is not draining")
	}
}

// Target.ReplicaOf names whose data a target holds.
func TestTargetReplicaOf(t *testing.T) {
	if got := (Target{Member: Member{ID: "n4"}, HintFor: "n2"}).ReplicaOf(); got != "n2" {
		t.Fatalf("fallback's replica %q", got)
	}
	if got := (Target{Member: Member{ID: "n2"}}).ReplicaOf(); got != "n2" {
		t.Fatalf("replica's replica %q", got)
	}
}

// The ring is built from the members' zones (their TagZone tags), and a
// member announcing a new zone rebuilds it.
func TestTrackerRingHasZones(t *testing.T) {
	zoned := func(id, zone string) Member { return Member{ID: id, Tags: map[string]string{TagZone: zone}} }
	static := NewStaticMembership(zoned("n1", "a"), zoned("n2", "a"), zoned("n3", "b"), Member{ID: "n4"})
	var changes []bool
	tr, _ := newTestTracker(t, static.View(), &changes)
	tr.Rebuild()
	r := tr.View().Ring
	if r.Zones() != 3 || r.Zone("n3") != "b" || r.Zone("n4") != "" {
		t.Fatalf("ring zones: %d, n3 %q, n4 %q", r.Zones(), r.Zone("n3"), r.Zone("n4"))
	}
	static.Set(Member{ID: "n4", Status: StatusAlive, Tags: map[string]string{TagZone: "b"}})
	tr.Rebuild()
	if got := tr.View().Ring; got == r || got.Zone("n4") != "b" || got.Zones() != 2 {
		t.Fatalf("a zone change did not rebuild the ring: n4 in %q, %d zones", got.Zone("n4"), got.Zones())
	}
	if len(changes) != 2 || !changes[1] {
		t.Fatalf("ring changes reported %v", changes)
	}
}
