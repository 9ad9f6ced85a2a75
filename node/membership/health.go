package membership

import (
	"sync"
	"time"
)

// Health is the coordinator's own view of which peers answer, layered over
// gossip: gossip takes seconds to declare a node failed, while a refused
// connection is known at once. A peer that could not be reached is avoided
// for a cool-down, then tried again.
type Health struct {
	now      func() time.Time
	cooldown time.Duration

	mu        sync.Mutex
	downUntil map[string]time.Time
}

// NewHealth returns a detector whose cool-downs last cooldown, measured
// on now (a monotonic reading).
func NewHealth(now func() time.Time, cooldown time.Duration) *Health {
	return &Health{now: now, cooldown: cooldown, downUntil: map[string]time.Time{}}
}

// Failed records that id could not be reached.
func (h *Health) Failed(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.downUntil[id] = h.now().Add(h.cooldown)
}

// Succeeded records that id answered.
func (h *Health) Succeeded(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.downUntil, id)
}

// Suspected reports whether id failed recently.
func (h *Health) Suspected(id string) bool {
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
