package membership

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dynkv/dynkv/ring"
)

// View is an immutable snapshot of the members and the ring built from
// them: a request loads one and uses it throughout, so it never sees half
// of a membership change.
type View struct {
	Ring    *ring.Ring
	Members map[string]Member
	List    []Member // sorted by ID
}

// Member returns the member called id, or a failed stand-in for one that
// gossip no longer reports (a ring can name a node gossip just forgot).
func (v *View) Member(id string) Member {
	if m, ok := v.Members[id]; ok {
		return m
	}
	return Member{ID: id, Status: StatusFailed}
}

// Target is one node a request for a key goes to: a replica from the
// preference list, or a fallback standing in for one (sloppy quorum) that
// keeps what it receives as a hint for that replica.
type Target struct {
	Member
	HintFor string // the preference-list node this fallback stands in for; "" for a replica
}

// ReplicaOf is the preference-list node the target holds data for.
func (t Target) ReplicaOf() string {
	if t.HintFor != "" {
		return t.HintFor
	}
	return t.ID
}

// Tracker keeps this node's current View and its own verdict on which
// peers answer, layered over gossip's. Safe for concurrent use.
type Tracker struct {
	self       string
	ringConfig ring.Config
	source     Membership
	health     *Health
	draining   func() bool
	log        *slog.Logger

	view atomic.Pointer[View]
	mu   sync.Mutex // serializes rebuilds
	// onChange is called after every rebuild, under mu, with the new view
	// and whether its ring differs from the previous one.
	onChange func(v *View, ringChanged bool)
}

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	Self   string
	Ring   ring.Config
	Source Membership
	Health *Health
	// Draining reports whether this node is shutting down: it is then no
	// target for its own requests.
	Draining func() bool
	Logger   *slog.Logger
	// OnChange, if set, follows every rebuild; it must not block.
	OnChange func(v *View, ringChanged bool)
}

// NewTracker returns a tracker whose view is empty until Rebuild.
func NewTracker(cfg TrackerConfig) (*Tracker, error) {
	empty, err := ring.New(nil, cfg.Ring)
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		self: cfg.Self, ringConfig: cfg.Ring, source: cfg.Source, health: cfg.Health,
		draining: cfg.Draining, log: cfg.Logger, onChange: cfg.OnChange,
	}
	t.view.Store(&View{Ring: empty, Members: map[string]Member{}})
	return t, nil
}

// View is the current snapshot.
func (t *Tracker) View() *View { return t.view.Load() }

// Self is this node's ID.
func (t *Tracker) Self() string { return t.self }

// Health is the peer detector the tracker consults.
func (t *Tracker) Health() *Health { return t.health }

// Usable reports whether m should be sent requests now: gossip says it is
// alive and this node has not just failed to reach it.
func (t *Tracker) Usable(m Member) bool {
	if m.ID == t.self {
		return !t.draining()
	}
	return m.Status == StatusAlive && !t.health.Suspected(m.ID)
}

// UsableID is Usable for a member known by ID only.
func (t *Tracker) UsableID(id string) bool {
	m, ok := t.View().Members[id]
	return ok && t.Usable(m)
}

// Rebuild swaps in a new view from the membership source. The ring is only
// rebuilt when the set of members on it or their zones change, not on
// status flaps.
func (t *Tracker) Rebuild() {
	t.mu.Lock()
	defer t.mu.Unlock()
	members := t.source.Members()
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	byID := make(map[string]Member, len(members))
	var onRing []ring.Member
	for _, m := range members {
		byID[m.ID] = m
		if m.OnRing() {
			onRing = append(onRing, ring.Member{Name: m.ID, Zone: m.Zone()})
		}
	}
	old := t.View()
	r := old.Ring
	// Zones are part of the member set: every node learns a member's zone
	// with the member itself (a gossip tag), so all compute the same ring.
	if !slices.Equal(onRing, old.Ring.ZonedMembers()) {
		nr, err := ring.NewZoned(onRing, t.ringConfig)
		if err != nil {
			t.log.Error("cannot build ring; keeping the previous one", "members", onRing, "err", err)
		} else {
			r = nr
			t.log.Info("ring rebuilt", "members", onRing)
		}
	}
	v := &View{Ring: r, Members: byID, List: members}
	t.view.Store(v)
	if t.onChange != nil {
		t.onChange(v, r != old.Ring)
	}
}
