package buckets

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/membership"
)

type memStore struct {
	mu    sync.Mutex
	saved bucket.Registry
	saves int
	fail  error
}

func (s *memStore) LoadBucketRegistry() (bucket.Registry, error) { return s.saved, s.fail }
func (s *memStore) SaveBucketRegistry(r bucket.Registry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.saved, s.saves = r, s.saves+1
	return nil
}

// fakePeers are other managers, reached by member ID.
type fakePeers map[string]*Manager

func (p fakePeers) BucketsMerge(_ context.Context, m membership.Member, reg bucket.Registry) (bucket.Registry, error) {
	peer, ok := p[m.ID]
	if !ok {
		return bucket.Registry{}, errors.New("unreachable")
	}
	if _, err := peer.Merge(reg); err != nil {
		return bucket.Registry{}, err
	}
	return peer.Registry(), nil
}

var limits = bucket.Limits{N: 3, R: 2, W: 2, MaxSiblings: 8, MaxValueBytes: 1 << 20}

func newManager(t *testing.T, self string, st *memStore, peers fakePeers, members func() []membership.Member) (*Manager, *bucket.Registry) {
	t.Helper()
	applied := new(bucket.Registry)
	m, err := Open(Config{
		Self: self, Store: st, Peers: peers, Members: members,
		Apply:      func(r bucket.Registry) { *applied = r },
		Limits:     func() bucket.Limits { return limits },
		Publish:    func(string) error { return nil },
		MaxEncoded: 1 << 20, PushTimeout: time.Second, Interval: -1, Time: clock.Real(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, applied
}

func TestSetRefusesAndChangesNothing(t *testing.T) {
	st := &memStore{}
	m, applied := newManager(t, "n1", st, nil, func() []membership.Member { return nil })
	for _, p := range []bucket.Props{{N: 17}, {R: 4}, {MaxSiblings: 9}, {Conflict: "x"}} {
		if _, _, _, err := m.Set(t.Context(), "carts", p); !errors.Is(err, bucket.ErrBadProps) {
			t.Errorf("Set %+v: %v", p, err)
		}
	}
	if _, _, _, err := m.Set(t.Context(), "Bad", bucket.Props{}); !errors.Is(err, bucket.ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
	st.fail = errors.New("disk full")
	if _, _, _, err := m.Set(t.Context(), "carts", bucket.Props{N: 2}); err == nil {
		t.Error("a failed save was not reported")
	}
	if m.Registry().Len() != 0 || applied.Len() != 0 || st.saves != 0 {
		t.Fatalf("refused sets changed something: %s, applied %s, %d saves", m.Registry().Encode(), applied.Encode(), st.saves)
	}
	st.fail = nil
	e, acked, members, err := m.Set(t.Context(), "carts", bucket.Props{N: 2})
	if err != nil || e.Version != (bucket.Version{Counter: 1, Node: "n1"}) || acked != 1 || members != 1 || !applied.Equal(m.Registry()) || !st.saved.Equal(m.Registry()) {
		t.Fatalf("set: %+v %d/%d %v", e, acked, members, err)
	}
	// Merging what it holds saves nothing again.
	if changed, err := m.Merge(m.Registry()); changed || err != nil || st.saves != 1 {
		t.Fatalf("idempotent merge: %v %v, %d saves", changed, err, st.saves)
	}
}

// SyncOnce exchanges with members whose digest differs, skipping those
// that agree or announce none.
func TestSyncOnceFollowsDigests(t *testing.T) {
	peers := fakePeers{}
	var members []membership.Member
	list := func() []membership.Member { return members }
	a, _ := newManager(t, "a", &memStore{}, peers, list)
	b, _ := newManager(t, "b", &memStore{}, peers, list)
	c, _ := newManager(t, "c", &memStore{}, peers, list)
	peers["b"], peers["c"] = b, c
	if _, _, _, err := b.Set(t.Context(), "carts", bucket.Props{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.Set(t.Context(), "logs", bucket.Props{N: 1}); err != nil {
		t.Fatal(err)
	}
	members = []membership.Member{
		{ID: "b", Tags: map[string]string{membership.TagBuckets: b.Digest()}},
		{ID: "c"}, // no tag: a version without buckets
	}
	if n, err := a.SyncOnce(t.Context()); n != 1 || err != nil || a.Digest() != b.Digest() {
		t.Fatalf("sync with b: %d %v", n, err)
	}
	if n, err := a.SyncOnce(t.Context()); n != 0 || err != nil || a.Stats().Pulls.Load() != 1 {
		t.Fatalf("sync when in agreement: %d %v, %d pulls", n, err, a.Stats().Pulls.Load())
	}
	members[1].Tags = map[string]string{membership.TagBuckets: c.Digest()}
	if n, err := a.SyncOnce(t.Context()); n != 1 || err != nil || a.Registry().Len() != 2 || c.Registry().Len() != 2 {
		t.Fatalf("sync with c: %d %v", n, err)
	}
}
