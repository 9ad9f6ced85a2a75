package buckets

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/membership"
)

// Store keeps the registry across restarts: the replica, the only writer
// of the node's store.
type Store interface {
	LoadBucketRegistry() (bucket.Registry, error)
	SaveBucketRegistry(bucket.Registry) error
}

// Peers exchanges registries with another node.
type Peers interface {
	// BucketsMerge sends reg to m and returns m's registry after m merged it.
	BucketsMerge(ctx context.Context, m membership.Member, reg bucket.Registry) (bucket.Registry, error)
}

// Config configures a Manager. Every func is required.
type Config struct {
	Self  string // this node's ID: the Node of the versions it sets
	Store Store
	Peers Peers
	// Members returns the members to exchange with: usable, this node
	// excluded.
	Members func() []membership.Member
	// Apply makes a registry the one the node's requests use.
	Apply func(bucket.Registry)
	// Limits are the node's caps that a Set is checked against.
	Limits func() bucket.Limits
	// Publish announces this node's digest (membership.TagBuckets).
	Publish func(digest string) error
	// MaxEncoded bounds an encoded registry: what an internode message
	// carries. A Set that would exceed it is refused.
	MaxEncoded int
	// PushTimeout bounds a Set's push to the members and each exchange.
	PushTimeout time.Duration
	// Interval is the pause between two sync passes when nothing pokes
	// the loop; negative: passes only when poked (tests drive them).
	Interval time.Duration
	Time     clock.Clock
	Logger   *slog.Logger
}

// Stats are cumulative counters since the manager opened (metrics).
type Stats struct {
	// Pulls are exchanges with a member whose digest differed; Changed
	// those that changed this node's registry; PullFailures those that
	// failed.
	Pulls, PullsChanged, PullFailures atomic.Int64
}

// Manager keeps one node's bucket registry. Safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu  sync.Mutex // serializes changes: load, merge, save, apply
	reg atomic.Pointer[bucket.Registry]

	published atomic.Pointer[string] // the digest last announced
	stats     Stats

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	loop   sync.WaitGroup
	start  sync.Once
}

// Open loads the saved registry and applies it: the node must call it
// after its replica opened and before it serves anything. A saved
// registry that does not decode fails Open (Store's documentation says
// why starting from empty is not safe).
func Open(cfg Config) (*Manager, error) {
	reg, err := cfg.Store.LoadBucketRegistry()
	if err != nil {
		return nil, fmt.Errorf("bucket registry: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	m.reg.Store(&reg)
	cfg.Apply(reg)
	return m, nil
}

// Registry is the registry the node applies now.
func (m *Manager) Registry() bucket.Registry { return *m.reg.Load() }

// Digest is the registry's digest as the tag announces it.
func (m *Manager) Digest() string { return FormatDigest(m.Registry()) }

// FormatDigest is reg's digest in the tag's form: 16 hex digits.
func FormatDigest(reg bucket.Registry) string {
	d := strconv.FormatUint(reg.Digest(), 16)
	for len(d) < 16 {
		d = "0" + d
	}
	return d
}

// Stats is the live counters.
func (m *Manager) Stats() *Stats { return &m.stats }

// Set replaces bucket's props with p, at a version above every one this
// node has seen, saves and applies the result, and pushes it to every
// member (best effort, within PushTimeout). It returns the new entry and
// how many nodes hold it when it returns, this one included, out of
// members (this one included). An error wrapping bucket.ErrBadProps or
// bucket.ErrBadName is the caller's mistake; nothing changed.
func (m *Manager) Set(ctx context.Context, name string, p bucket.Props) (e bucket.Entry, acked, members int, err error) {
	if err := bucket.CheckName(name); err != nil {
		return bucket.Entry{}, 0, 0, err
	}
	if err := p.Validate(m.cfg.Limits()); err != nil {
		return bucket.Entry{}, 0, 0, err
	}
	m.mu.Lock()
	cur := m.Registry()
	next, e, err := cur.Set(name, p, m.cfg.Self)
	if err == nil {
		err = m.checkSize(next)
	}
	if err == nil {
		err = m.commitLocked(next)
	}
	m.mu.Unlock()
	if err != nil {
		return bucket.Entry{}, 0, 0, err
	}
	m.log.Info("bucket props set", "bucket", name, "counter", e.Version.Counter, "props", fmt.Sprintf("%+v", p))
	m.announce()
	acked, members = m.push(ctx, name, e.Version)
	return e, acked, members, nil
}

// checkSize refuses a registry an internode message could not carry.
func (m *Manager) checkSize(reg bucket.Registry) error {
	limit := min(m.cfg.MaxEncoded, bucket.MaxEncodedLen)
	if n := len(reg.Encode()); limit > 0 && n > limit {
		return fmt.Errorf("%w: the registry would take %d bytes, more than the %d an internode message carries", bucket.ErrBadProps, n, limit)
	}
	return nil
}

// Merge joins reg into this node's registry; it saves, applies and
// announces the result only when it changed. It reports whether it did.
func (m *Manager) Merge(reg bucket.Registry) (bool, error) {
	m.mu.Lock()
	cur := m.Registry()
	next := cur.Merge(reg)
	changed := !next.Equal(cur)
	var err error
	if changed {
		err = m.commitLocked(next)
	}
	m.mu.Unlock()
	if err != nil {
		return false, err
	}
	if changed {
		m.log.Info("bucket registry merged", "buckets", next.Len(), "digest", FormatDigest(next))
		m.announce()
	}
	return changed, nil
}

// commitLocked saves next, then makes it current and applies it. m.mu is
// held, so changes are applied in the order they are saved.
func (m *Manager) commitLocked(next bucket.Registry) error {
	if err := m.cfg.Store.SaveBucketRegistry(next); err != nil {
		return err
	}
	m.reg.Store(&next)
	m.cfg.Apply(next)
	return nil
}

// announce publishes the current digest unless it is the one announced.
// A failure is retried by the next sync pass.
func (m *Manager) announce() {
	d := m.Digest()
	if p := m.published.Load(); p != nil && *p == d {
		return
	}
	if err := m.cfg.Publish(d); err != nil {
		m.log.Debug("cannot announce the bucket registry's digest yet", "err", err)
		return
	}
	m.published.Store(&d)
}

// push sends the registry to every member at once and merges their
// answers; it returns how many hold name's setting at version v (this
// node included; a member that answers with a higher one, set
// concurrently, does not) of how many.
func (m *Manager) push(ctx context.Context, name string, v bucket.Version) (acked, members int) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PushTimeout)
	defer cancel()
	peers := m.cfg.Members()
	reg := m.Registry()
	var wg sync.WaitGroup
	var ok atomic.Int64
	for _, p := range peers {
		wg.Go(func() {
			theirs, err := m.cfg.Peers.BucketsMerge(ctx, p, reg)
			if err != nil {
				m.log.Debug("bucket registry push failed; gossip will bring it", "peer", p.ID, "err", err)
				return
			}
			if e, held := theirs.Get(name); held && e.Version == v {
				ok.Add(1)
			}
			if _, err := m.Merge(theirs); err != nil {
				m.log.Warn("cannot merge a peer's bucket registry", "peer", p.ID, "err", err)
			}
		})
	}
	wg.Wait()
	return int(ok.Load()) + 1, len(peers) + 1
}
