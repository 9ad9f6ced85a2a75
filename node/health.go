package node

import (
	"sync"
	"time"
)

// health is the coordinator's own view of which peers answer, layered over
// gossip: gossip takes seconds to declare a node failed, while a refused
// connection is known at once. A peer that could not be reached is avoided
// for a cool-down, then tried again.
type health struct {
	now      func() time.Time
	cooldown time.Duration

	mu        sync.Mutex
	downUntil map[string]time.Time
}

func newHealth(now func() time.Time, cooldown time.Duration) *health {
	return &health{now: now, cooldown: cooldown, downUntil: map[string]time.Time{}}
}

// failed records that id could not be reached.
func (h *health) failed(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.downUntil[id] = h.now().Add(h.cooldown)
}

// succeeded records that id answered.
func (h *health) succeeded(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.downUntil, id)
}

// suspected reports whether id failed recently.
func (h *health) suspected(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	until, ok := h.downUntil[id]
	if !ok {
		return false
	}
	if h.now().After(until) {
		delete(h.downUntil, id)
		return false
	}
	return true
}
