package membership

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MemberStatus is a member's state as the failure detector sees it.
type MemberStatus string

const (
	StatusAlive   MemberStatus = "alive"
	StatusSuspect MemberStatus = "suspect"
	StatusFailed  MemberStatus = "failed"
	StatusLeaving MemberStatus = "leaving"
	StatusLeft    MemberStatus = "left"
)

// Member is one node as membership reports it.
type Member struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
	// InternodeAddr is where the node serves the framed internode
	// protocol; empty for a node of an older version, which peers call
	// over HTTP at HTTPAddr.
	InternodeAddr string            `json:"internode_addr,omitempty"`
	GossipAddr    string            `json:"gossip_addr,omitempty"`
	Status        MemberStatus      `json:"status"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// TagState is the member tag that announces a node's dynkv state; a node
// handing its data off before leaving sets it to StateLeaving.
const (
	TagState     = "dynkv-state"
	StateLeaving = "leaving"
)

// TagZone is the member tag naming the node's zone (serve --zone): the
// ring spreads every preference list over zones (ring.NewZoned). Absent or
// empty is no zone.
const TagZone = "zone"

// Zone is the member's zone, "" for none.
func (m Member) Zone() string { return m.Tags[TagZone] }

// TagIncarnation is the member tag that says when the node's current run
// started, in Unix milliseconds: it grows with every restart, so a changed
// value tells an operator the node restarted. (The gossip library's own
// incarnation numbers are not exposed.)
const TagIncarnation = "dynkv-incarnation"

// TagBuckets is the member tag announcing the digest of the node's bucket
// registry (node/buckets), 16 hex digits: a node whose digest differs from
// a peer's fetches that peer's registry, so gossip carries the hint that
// registries differ and the internode protocol carries the registry
// (docs/GUARANTEES.md, "Buckets"). Absent: a node of a version without
// buckets.
const TagBuckets = "dynkv-buckets"

// Incarnation is the member's TagIncarnation, 0 when it announces none.
func (m Member) Incarnation() int64 {
	v, err := strconv.ParseInt(m.Tags[TagIncarnation], 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// OnRing reports whether the member owns partitions: a transient failure
// moves no data; an announced leave (data handed off, then gone) or a
// removal does.
func (m Member) OnRing() bool {
	return m.Status != StatusLeft && m.Tags[TagState] != StateLeaving
}

// Membership tells the node who is in the cluster and who is up. It is the
// one boundary where a gossip library's types turn into dynkv's.
type Membership interface {
	// Start begins tracking with self as this node (its HTTP address is
	// known only once the node listens), announcing self.Tags (its zone)
	// from the first message on, so no peer places it without its zone;
	// onChange is called (never
	// concurrently, and it must not block) whenever Members may have changed.
	Start(self Member, onChange func()) error
	// Members returns every known member, this node included.
	Members() []Member
	// SetTag publishes one of this node's tags to every member.
	SetTag(key, value string) error
	// Remove declares a failed member gone for good (left).
	Remove(id string) error
	// Leave announces a graceful departure.
	Leave() error
	// Close stops tracking without leaving (a restart is not a leave).
	Close() error
}

// StaticMembership is a Membership driven by hand, for tests: set members and
// their statuses directly, and every node sharing it sees the change at once.
type StaticMembership struct {
	mu        sync.Mutex
	members   map[string]Member
	listeners []func()
}

// NewStaticMembership returns a membership with the given members, all alive.
func NewStaticMembership(members ...Member) *StaticMembership {
	s := &StaticMembership{members: map[string]Member{}}
	for _, m := range members {
		if m.Status == "" {
			m.Status = StatusAlive
		}
		s.members[m.ID] = m
	}
	return s
}

// View returns a Membership for one node; every view shares the state.
func (s *StaticMembership) View() Membership { return &staticView{s: s} }

// Set adds or replaces a member and notifies every view.
func (s *StaticMembership) Set(m Member) {
	s.mu.Lock()
	s.members[m.ID] = m
	s.mu.Unlock()
	s.notify()
}

// SetStatus changes one member's status.
func (s *StaticMembership) SetStatus(id string, st MemberStatus) {
	s.update(id, func(m *Member) { m.Status = st })
}

// update changes a known member in place, under the lock, so that two
// concurrent changes (a status and a tag) cannot undo each other, and
// reports whether id is a member.
func (s *StaticMembership) update(id string, change func(*Member)) bool {
	s.mu.Lock()
	m, ok := s.members[id]
	if ok {
		change(&m)
		s.members[id] = m
	}
	s.mu.Unlock()
	if ok {
		s.notify()
	}
	return ok
}

// notify calls every view's listener, outside the lock: a listener reads
// the members.
func (s *StaticMembership) notify() {
	s.mu.Lock()
	ls := slices.Clone(s.listeners)
	s.mu.Unlock()
	for _, l := range ls {
		l()
	}
}

// List returns every member, sorted by ID.
func (s *StaticMembership) List() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Member, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// staticView is one node's view. self is guarded by s.mu: a node serves
// peers (and may announce a tag) before its Start has set it.
type staticView struct {
	s    *StaticMembership
	self string
}

func (v *staticView) Start(self Member, onChange func()) error {
	v.s.mu.Lock()
	v.self = self.ID
	v.s.listeners = append(v.s.listeners, onChange)
	v.s.mu.Unlock()
	// The tags self announces, as gossip would announce them (the member
	// is added by hand, before or after the node starts).
	for k, val := range self.Tags {
		if err := v.SetTag(k, val); err != nil {
			return nil // not a member yet: nothing to announce to
		}
	}
	return nil
}
func (v *staticView) Members() []Member { return v.s.List() }
func (v *staticView) Leave() error {
	v.s.mu.Lock()
	self := v.self
	v.s.mu.Unlock()
	if self != "" {
		v.s.SetStatus(self, StatusLeft)
	}
	return nil
}
func (v *staticView) SetTag(key, value string) error {
	v.s.mu.Lock()
	self := v.self
	v.s.mu.Unlock()
	ok := v.s.update(self, func(m *Member) {
		tags := maps.Clone(m.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		tags[key] = value
		m.Tags = tags
	})
	if !ok {
		return fmt.Errorf("%q is not a member", self)
	}
	return nil
}
func (v *staticView) Remove(id string) error {
	v.s.SetStatus(id, StatusLeft)
	return nil
}
func (v *staticView) Close() error { return nil }
