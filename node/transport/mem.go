package transport

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// MemNetwork is an in-process Transport for tests: nodes register under an
// address, and a test can cut links one way or both, isolate nodes, drop a
// share of messages and add latency, then heal. It is exported so that other
// packages' tests can run whole clusters in one process.
type MemNetwork struct {
	mu       sync.RWMutex
	handlers map[string]Handler
	cut      map[[2]string]bool // from, to
	delay    time.Duration
	dropOne  func(from, to string) bool
	stalled  map[string]bool   // addresses that take messages and never answer
	resumed  chan struct{}     // closed by Heal: stalled calls go on, as a resumed process would
	gossip   map[string]string // gossip address -> name, for faultyGossip
}

// NewMemNetwork returns an empty network with every link up.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{handlers: map[string]Handler{}, cut: map[[2]string]bool{}, stalled: map[string]bool{}, gossip: map[string]string{}, resumed: make(chan struct{})}
}

// Register makes h reachable at addr, replacing any earlier handler (a
// restarted node). Unregister(addr) makes it unreachable (a killed node).
func (m *MemNetwork) Register(addr string, h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers[addr] = h
}

// Unregister removes the handler at addr.
func (m *MemNetwork) Unregister(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.handlers, addr)
}

// Cut blocks messages from a to b and from b to a.
func (m *MemNetwork) Cut(a, b string) { m.setCut(a, b, true) }

// CutOneWay blocks messages from a to b only.
func (m *MemNetwork) CutOneWay(from, to string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cut[[2]string{from, to}] = true
}

// Partition cuts every link between the two groups.
func (m *MemNetwork) Partition(left, right []string) {
	for _, a := range left {
		for _, b := range right {
			m.Cut(a, b)
		}
	}
}

// Isolate cuts addr from every other registered address.
func (m *MemNetwork) Isolate(addr string) {
	m.mu.RLock()
	seen := map[string]bool{addr: true}
	var others []string
	for a := range m.handlers {
		if !seen[a] {
			seen[a] = true
			others = append(others, a)
		}
	}
	for _, name := range m.gossip {
		if !seen[name] {
			seen[name] = true
			others = append(others, name)
		}
	}
	m.mu.RUnlock()
	m.Partition([]string{addr}, others)
}

// Heal restores every link and stops dropping and delaying.
func (m *MemNetwork) Heal() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cut = map[[2]string]bool{}
	m.dropOne = nil
	m.delay = 0
	clear(m.stalled)
	close(m.resumed)
	m.resumed = make(chan struct{})
}

// Stall makes addr take messages and not answer, as a process that is
// stopped (SIGSTOP) or stuck would: callers wait until their context ends,
// or until Heal resumes it and their messages are delivered.
func (m *MemNetwork) Stall(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stalled[addr] = true
}

// SetDelay adds latency to every delivered message.
func (m *MemNetwork) SetDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = d
}

// SetDropper decides per message whether to drop it; nil drops none.
func (m *MemNetwork) SetDropper(drop func(from, to string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropOne = drop
}

func (m *MemNetwork) setCut(a, b string, v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cut[[2]string{a, b}] = v
	m.cut[[2]string{b, a}] = v
}

// RegisterGossip tells the network which node gossips from addr, so that
// cuts apply to gossip too.
func (m *MemNetwork) RegisterGossip(addr, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gossip[addr] = name
}

// GossipBlocked reports whether gossip from the node called from to the
// gossip address addr is cut.
func (m *MemNetwork) GossipBlocked(from, addr string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	to, ok := m.gossip[addr]
	return ok && m.cut[[2]string{from, to}]
}

// Endpoint returns the Transport that the node at addr uses to send.
func (m *MemNetwork) Endpoint(from string) Transport { return memEndpoint{net: m, from: from} }

type memEndpoint struct {
	net  *MemNetwork
	from string
}

// Close implements Transport: the network outlives its endpoints.
func (e memEndpoint) Close() error { return nil }

func (e memEndpoint) Call(ctx context.Context, _, to string, op wire.Op, body []byte) ([]byte, error) {
	m := e.net
	m.mu.RLock()
	h, ok := m.handlers[to]
	blocked := m.cut[[2]string{e.from, to}]
	back := m.cut[[2]string{to, e.from}]
	delay, drop, stalled, resumed := m.delay, m.dropOne, m.stalled[to], m.resumed
	m.mu.RUnlock()
	if !ok || blocked || (drop != nil && drop(e.from, to)) {
		return nil, fmt.Errorf("%w: %s -> %s", wire.ErrUnreachable, e.from, to)
	}
	if stalled {
		select {
		case <-resumed:
		case <-ctx.Done():
			return nil, fmt.Errorf("call %s %s: %w", to, op, ctx.Err())
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("call %s %s: %w", to, op, ctx.Err())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("call %s %s: %w", to, op, err)
	}
	// Copy in both directions: a real network never shares memory, and
	// handlers may keep or reuse what they were given.
	resp, err := h.HandleInternode(ctx, op, append([]byte(nil), body...))
	if back {
		// The request arrived (and took effect) but the answer is lost.
		return nil, fmt.Errorf("%w: reply %s -> %s lost", wire.ErrUnreachable, to, e.from)
	}
	if err != nil {
		return nil, wire.AsRemoteError(err)
	}
	return append([]byte(nil), resp...), nil
}
