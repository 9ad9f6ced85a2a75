package replica

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/dynkv/dynkv/vclock"
)

// fallbackMinter mints dots when this node stands in for every replica of a
// key (sloppy quorum with all of the preference list unreachable).
//
// A replica can mint with its incarnation's actor because its own store
// remembers the highest counter it minted for every key. A fallback keeps a
// write only as a hint, deleted once delivered, so it would forget its
// counters and could mint the same dot twice for different values — one of
// them would be lost at the next merge. Fallback dots therefore use an
// actor of their own, fresh for every process run and whenever the
// in-memory counter table is full; counters within a run are remembered in
// memory. Metadata grows only with runs in which a node stood in for all N
// replicas of a key.
type fallbackMinter struct {
	base  string // the node's actor
	limit int

	mu       sync.Mutex
	actor    string
	counters map[string]uint64
}

func newFallbackMinter(base string, limit int) (*fallbackMinter, error) {
	f := &fallbackMinter{base: base, limit: limit}
	return f, f.rotate()
}

func (f *fallbackMinter) rotate() error {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("draw fallback actor: %w", err)
	}
	f.actor = f.base + "~" + hex.EncodeToString(b[:])
	f.counters = map[string]uint64{}
	return nil
}

// next returns a dot never used before for key, given what the hint and the
// client have seen.
func (f *fallbackMinter) next(key []byte, seen, ctx vclock.Context) (vclock.Dot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.counters) >= f.limit {
		if err := f.rotate(); err != nil {
			return vclock.Dot{}, err
		}
	}
	// Every dot of this run's actor was minted here, so a context naming
	// more than counters holds is forged (claims.go).
	made := f.counters[string(key)]
	if err := checkOwnClaim(ctx, f.actor, made); err != nil {
		return vclock.Dot{}, err
	}
	highest := max(made, seen.Max(f.actor), ctx.Max(f.actor))
	if err := checkNotExhausted(f.actor, highest); err != nil {
		return vclock.Dot{}, err
	}
	f.counters[string(key)] = highest + 1
	return vclock.Dot{Actor: f.actor, Counter: highest + 1}, nil
}
