package membership

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Serf tags carrying what peers need to know about a node.
const (
	tagHTTP      = "http"
	tagInternode = "internode"
)

// SerfConfig configures gossip membership.
type SerfConfig struct {
	NodeID string
	// BindAddr is host:port for gossip (TCP and UDP); port 0 picks one.
	BindAddr string
	// AdvertiseAddr is what peers dial; default BindAddr once bound.
	AdvertiseAddr string
	// HTTPAddr is advertised to peers in a tag; default the node's own
	// address given to Start.
	HTTPAddr string
	// Join lists host:port gossip addresses of existing members; empty
	// starts a new cluster.
	Join []string
	// Profile picks failure-detection timing: "lan" (default; a crashed
	// node is declared failed in ~5.5 s), "local", or "fast" for tests
	// (~0.7 s, chattier).
	Profile string
	// SnapshotPath, if set (the node's <data-dir>/serf.snapshot), keeps
	// the members this node knew across restarts: serf's snapshot there,
	// and beside it dynkv's own record (SnapshotPath+".members"), which a
	// restarted node rejoins by itself and is not ready until it has
	// (rejoin.go). Empty keeps nothing: a restart knows only Join.
	SnapshotPath string
	// KeyringFile, if set, encrypts and authenticates gossip with the keys
	// it holds (serf's format: a JSON array of base64 AES keys, the first
	// the primary; mode 0600 or stricter): a node without one of them
	// cannot join. serf rewrites the file whenever a key is installed,
	// used or removed (Keyring), so the node must be able to write it.
	KeyringFile string
	Logger      *slog.Logger
}

// SerfMembership is Membership over hashicorp/serf.
type SerfMembership struct {
	cfg SerfConfig
	// faults, for tests only, routes gossip through a test network's cuts
	// under the name faultName (NewFaultySerfMembership).
	faults    GossipFaults
	faultName string

	serf   *serf.Serf
	events chan serf.Event
	cancel context.CancelFunc
	done   chan struct{}
	// retries is closed when the background join loop ends; nil if none.
	retries chan struct{}
	// seeds are Join and the recorded members (prepareRejoin).
	seeds  []string
	rejoin *rejoin
	// tagsMu makes SetTag's read-modify-write of the tags atomic: the
	// bucket digest and the leaving state are set from different
	// goroutines, and one must not put back a tag set the other replaced.
	tagsMu sync.Mutex

	closeOnce sync.Once
}

// NewSerfMembership validates cfg; Start creates the gossip agent.
func NewSerfMembership(cfg SerfConfig) (*SerfMembership, error) {
	if _, _, err := net.SplitHostPort(cfg.BindAddr); err != nil {
		return nil, fmt.Errorf("gossip address %q: %w", cfg.BindAddr, err)
	}
	switch cfg.Profile {
	case "", "lan", "local", "fast":
	default:
		return nil, fmt.Errorf("gossip profile %q: want lan, local or fast", cfg.Profile)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &SerfMembership{cfg: cfg}, nil
}

// NewFaultySerfMembership is NewSerfMembership for tests: gossip goes
// through faults' cuts, where this node is called name.
func NewFaultySerfMembership(cfg SerfConfig, faults GossipFaults, name string) (*SerfMembership, error) {
	m, err := NewSerfMembership(cfg)
	if err != nil {
		return nil, err
	}
	m.faults, m.faultName = faults, name
	return m, nil
}

// deadNodeReclaim lets a failed member come back from another address at
// once (memberlist takes any positive value as "after this long"): a
// Kubernetes pod rescheduled with a new IP, a container recreated. Node
// ids are unique and stable, so that is the same node restarted;
// memberlist would otherwise refuse it as a conflict until it forgets the
// dead (GossipToTheDeadTime, 30 s on a LAN) and a later push-pull or
// reconnect brings it back (TestFailedNodeRejoinsFromNewAddress). A node
// back while still only suspected is refused until it is failed.
const deadNodeReclaim = time.Nanosecond

func (m *SerfMembership) memberlistConfig() (*memberlist.Config, error) {
	var mc *memberlist.Config
	switch m.cfg.Profile {
	case "local":
		mc = memberlist.DefaultLocalConfig()
	case "fast":
		mc = memberlist.DefaultLocalConfig()
		mc.ProbeInterval = 200 * time.Millisecond
		mc.ProbeTimeout = 100 * time.Millisecond
		mc.GossipInterval = 50 * time.Millisecond
		mc.SuspicionMult = 2
		mc.PushPullInterval = 2 * time.Second
	default:
		mc = memberlist.DefaultLANConfig()
	}
	host, port, err := splitHostPort(m.cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("gossip bind address: %w", err)
	}
	mc.BindAddr, mc.BindPort = host, port
	mc.DeadNodeReclaimTime = deadNodeReclaim
	if m.cfg.AdvertiseAddr != "" {
		ah, ap, err := splitHostPort(m.cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("gossip advertise address: %w", err)
		}
		mc.AdvertiseAddr, mc.AdvertisePort = ah, ap
	}
	mc.Logger = newSerfLogger(m.cfg.Logger.With("component", "memberlist"))
	if m.cfg.KeyringFile != "" {
		kr, err := loadKeyring(m.cfg.KeyringFile)
		if err != nil {
			return nil, err
		}
		// Verifying both ways is what makes the key an admission check:
		// clear-text gossip is neither sent nor accepted.
		mc.Keyring = kr
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	if m.faults != nil {
		t, err := newFaultyGossip(host, port, m.faults, m.faultName, mc)
		if err != nil {
			return nil, err
		}
		mc.Transport = t
	}
	return mc, nil
}

// Start implements Membership.
func (m *SerfMembership) Start(self Member, onChange func()) error {
	if m.cfg.HTTPAddr == "" {
		m.cfg.HTTPAddr = self.HTTPAddr
	}
	mc, err := m.memberlistConfig()
	if err != nil {
		return err
	}
	sc := serf.DefaultConfig()
	sc.NodeName = m.cfg.NodeID
	sc.Tags = maps.Clone(self.Tags) // the zone, set once at start
	if sc.Tags == nil {
		sc.Tags = map[string]string{}
	}
	sc.Tags[tagHTTP] = m.cfg.HTTPAddr
	if self.InternodeAddr != "" {
		sc.Tags[tagInternode] = self.InternodeAddr
	}
	sc.MemberlistConfig = mc
	sc.KeyringFile = m.cfg.KeyringFile
	sc.Logger = newSerfLogger(m.cfg.Logger.With("component", "serf"))
	// A crashed node stays on the ring until an operator removes it, so
	// serf must keep remembering it (its reaper would otherwise forget a
	// failed member after ReconnectTimeout).
	sc.ReconnectTimeout = 365 * 24 * time.Hour
	if m.cfg.Profile == "fast" {
		sc.ReconnectInterval = 500 * time.Millisecond
	}
	// Serf sends events while holding its member lock: the channel is
	// drained by a dedicated goroutine that never blocks on the node.
	m.events = make(chan serf.Event, 1024)
	sc.EventCh = m.events
	m.prepareRejoin(sc)
	s, err := serf.Create(sc)
	if err != nil {
		return fmt.Errorf("start gossip on %s: %w", m.cfg.BindAddr, err)
	}
	m.serf = s
	if m.faults != nil {
		m.faults.RegisterGossip(m.GossipAddr(), m.faultName)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go m.drain(ctx, onChange)
	go m.rejoin.run(ctx, m.Members)
	if len(m.seeds) > 0 {
		if !m.tryJoin() {
			m.retries = make(chan struct{})
			go m.retryJoin(ctx)
		}
	}
	onChange()
	return nil
}

// tryJoin contacts the seeds once and reports whether any other member
// answered. A seed may be this node itself — a StatefulSet gives every pod
// the same list — and memberlist counts reaching itself as a join: a node
// that only found itself keeps trying, or nodes started together could
// each stay a cluster of one.
func (m *SerfMembership) tryJoin() bool {
	n, err := m.serf.Join(m.seeds, true)
	if err == nil && len(m.serf.Members()) < 2 {
		err = errors.New("only this node answered")
	}
	if err != nil {
		m.cfg.Logger.Warn("could not reach any seed; retrying in the background", "seeds", m.seeds, "err", err)
		return false
	}
	m.cfg.Logger.Info("joined cluster", "contacted", n)
	return true
}

// retryJoin keeps trying the seeds with capped backoff: nodes of a new
// cluster start in any order (containers, systemd units), and a node that
// came up before its seeds must not stay a cluster of one forever. Once
// joined, serf itself reconnects to members that fail.
func (m *SerfMembership) retryJoin(ctx context.Context) {
	defer close(m.retries)
	wait := 500 * time.Millisecond
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if len(m.serf.Members()) > 1 || m.tryJoin() {
			return
		}
		wait = min(2*wait, 15*time.Second)
	}
}

func (m *SerfMembership) drain(ctx context.Context, onChange func()) {
	defer close(m.done)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-m.events:
			if _, ok := ev.(serf.MemberEvent); ok {
				// Read before onChange rebuilds the node's view, so
				// that view is at least as new (rejoin.changed).
				seen := m.Members()
				onChange()
				m.rejoin.changed(seen)
			}
		}
	}
}

// Members implements Membership.
func (m *SerfMembership) Members() []Member {
	if m.serf == nil {
		return nil
	}
	suspect := map[string]bool{}
	for _, n := range m.serf.Memberlist().Members() {
		if n.State == memberlist.StateSuspect {
			suspect[n.Name] = true
		}
	}
	var out []Member
	for _, sm := range m.serf.Members() {
		mem := Member{
			ID:            sm.Name,
			HTTPAddr:      sm.Tags[tagHTTP],
			InternodeAddr: sm.Tags[tagInternode],
			GossipAddr:    net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port))),
			Tags:          sm.Tags,
		}
		switch sm.Status {
		case serf.StatusAlive:
			mem.Status = StatusAlive
			if suspect[sm.Name] {
				mem.Status = StatusSuspect
			}
		case serf.StatusLeaving:
			mem.Status = StatusLeaving
		case serf.StatusLeft:
			mem.Status = StatusLeft
		case serf.StatusFailed:
			mem.Status = StatusFailed
		default:
			continue
		}
		out = append(out, mem)
	}
	return out
}

// GossipAddr is the bound gossip address (useful with port 0).
func (m *SerfMembership) GossipAddr() string {
	if m.serf == nil {
		return ""
	}
	ln := m.serf.Memberlist().LocalNode()
	return net.JoinHostPort(ln.Addr.String(), strconv.Itoa(int(ln.Port)))
}

// SetTag implements Membership; it blocks until the tags are broadcast
// or serf's broadcast timeout passes.
func (m *SerfMembership) SetTag(key, value string) error {
	if m.serf == nil {
		return fmt.Errorf("gossip not started")
	}
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	tags := maps.Clone(m.serf.LocalMember().Tags)
	tags[key] = value
	if err := m.serf.SetTags(tags); err != nil {
		if m.serf.LocalMember().Tags[key] != value {
			return fmt.Errorf("set gossip tag %s: %w", key, err)
		}
		// The wait for the broadcast timed out, but the tag is already this
		// member's state: gossip keeps spreading it and every push-pull
		// carries it, so the change is made, only not yet seen everywhere.
		// Failing here would fail a leave that is already under way.
		m.cfg.Logger.Warn("tag set; its broadcast is still spreading", "tag", key, "err", err)
	}
	return nil
}

// Remove implements Membership: serf's force-leave of a failed member.
func (m *SerfMembership) Remove(id string) error {
	if m.serf == nil {
		return fmt.Errorf("gossip not started")
	}
	return m.serf.RemoveFailedNodePrune(id)
}

// Leave implements Membership.
func (m *SerfMembership) Leave() error {
	if m.serf == nil {
		return nil
	}
	if err := m.serf.Leave(); err != nil {
		return err
	}
	if err := m.rejoin.left(); err != nil {
		return fmt.Errorf("forget the members after leaving: %w", err)
	}
	return nil
}

// Close implements Membership.
func (m *SerfMembership) Close() error {
	var err error
	m.closeOnce.Do(func() {
		if m.serf == nil {
			return
		}
		m.cancel()
		if m.retries != nil {
			<-m.retries
		}
		err = m.serf.Shutdown()
		<-m.done
		<-m.rejoin.done
	})
	return err
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return host, port, nil
}

// newSerfLogger adapts serf's "[LEVEL] msg" lines to slog.
func newSerfLogger(l *slog.Logger) *log.Logger {
	return log.New(serfLogWriter{l}, "", 0)
}

type serfLogWriter struct{ l *slog.Logger }

// expectedSerfLines are warnings of serf's that describe what dynkv means
// to do, logged at info instead: Close shuts gossip down without a Leave on
// purpose, because a shutdown is not a leave (the node keeps its
// partitions; leaving is the explicit Leave, docs/DESIGN.md). Every node
// stopping normally, each of dynkv dev's on Ctrl-C, would warn otherwise.
var expectedSerfLines = map[string]bool{"serf: Shutdown without a Leave": true}

func (w serfLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for prefix, lv := range map[string]slog.Level{
		"[DEBUG]": slog.LevelDebug, "[INFO]": slog.LevelInfo,
		"[WARN]": slog.LevelWarn, "[ERR]": slog.LevelError, "[ERROR]": slog.LevelError,
	} {
		if i := strings.Index(line, prefix); i >= 0 {
			level, line = lv, strings.TrimSpace(line[i+len(prefix):])
			break
		}
	}
	if expectedSerfLines[line] {
		level = min(level, slog.LevelInfo)
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}

var _ io.Writer = serfLogWriter{}
