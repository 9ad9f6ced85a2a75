package transport

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/node/clock"
)

// pooledConn is a connection a pool hands out.
type pooledConn interface {
	// usable reports whether new requests may be sent on it.
	usable(maxIdle time.Duration) bool
	// fail breaks it: calls waiting on it fail with err.
	fail(err error)
}

// connPool keeps a small fixed number of connections per peer, dialled on
// demand and used in turn.
type connPool[C pooledConn] struct {
	perPeer int
	maxIdle time.Duration
	dial    func(addr string) (C, error)
	time    clock.Clock

	mu     sync.Mutex
	peers  map[string]*peerSlots[C]
	closed atomic.Bool
}

// dialFailureMemo is how long a failed dial is reported to further callers
// without dialling again, so that a dead or cut-off peer costs one dial,
// not one per request.
const dialFailureMemo = 100 * time.Millisecond

type peerSlots[C pooledConn] struct {
	next  atomic.Uint32
	slots []connSlot[C]
}

type connSlot[C pooledConn] struct {
	mu      sync.Mutex
	conn    C
	ok      bool // conn is set
	dialErr error
	dialAt  time.Time
}

func newConnPool[C pooledConn](perPeer int, maxIdle time.Duration, c clock.Clock, dial func(string) (C, error)) *connPool[C] {
	return &connPool[C]{perPeer: perPeer, maxIdle: maxIdle, dial: dial, time: c, peers: map[string]*peerSlots[C]{}}
}

var errTransportClosed = errors.New("transport closed")

// get returns a usable connection to addr, dialling if needed.
func (p *connPool[C]) get(addr string) (C, error) {
	var none C
	p.mu.Lock()
	ps, ok := p.peers[addr]
	if !ok {
		ps = &peerSlots[C]{slots: make([]connSlot[C], p.perPeer)}
		p.peers[addr] = ps
	}
	p.mu.Unlock()
	s := &ps.slots[int(ps.next.Add(1))%len(ps.slots)]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under the slot's lock: close sets closed before it takes
	// the slots' locks, so no connection is opened after it passed.
	if p.closed.Load() {
		return none, errTransportClosed
	}
	if s.ok && s.conn.usable(p.maxIdle) {
		return s.conn, nil
	}
	if s.ok {
		s.conn.fail(errors.New("retired: idle or broken"))
		s.conn, s.ok = none, false
	}
	if s.dialErr != nil && p.time.Now().Sub(s.dialAt) < dialFailureMemo {
		return none, s.dialErr
	}
	c, err := p.dial(addr)
	s.dialAt, s.dialErr = p.time.Now(), err
	if err != nil {
		return none, err
	}
	s.conn, s.ok = c, true
	return c, nil
}

// close breaks every connection; later gets fail.
func (p *connPool[C]) close() {
	p.closed.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ps := range p.peers {
		for i := range ps.slots {
			s := &ps.slots[i]
			s.mu.Lock()
			if s.ok {
				s.conn.fail(errTransportClosed)
			}
			s.mu.Unlock()
		}
	}
}

// conns lists the connections held for addr.
func (p *connPool[C]) conns(addr string) []C {
	p.mu.Lock()
	ps := p.peers[addr]
	p.mu.Unlock()
	if ps == nil {
		return nil
	}
	var out []C
	for i := range ps.slots {
		s := &ps.slots[i]
		s.mu.Lock()
		if s.ok {
			out = append(out, s.conn)
		}
		s.mu.Unlock()
	}
	return out
}
