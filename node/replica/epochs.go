package replica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/dynkv/dynkv/store"
)

// A replica mints one past the highest counter of its actor that it knows
// for a key, and it knows them from the key's stored state. Handoff deletes
// that state once the key's new replicas hold it, and with it this
// replica's memory of its dots: should the partition come back (a join and
// a leave, a leave undone), a write without context would mint a dot the
// key's other replicas already hold for another value, and one of the two
// would be lost at the next merge (docs/GUARANTEES.md, G2).
//
// So each partition has an epoch, durable in the store's metadata, and a
// replica mints in partition p with the actor "<actor>/<epoch>" once p's
// epoch is above 0. Before handoff forgets the first key of a partition in
// which this actor may have minted since the epoch was last raised, the
// epoch is raised (and synced): dots minted before the forget and after it
// can then never share an actor. Contexts grow by one actor per partition
// that left and came back, not per write or per key; with no membership
// change, every epoch stays 0 and actors are as before. Reaping forgets
// too, but only keys that every replica agreed to forget past the
// tombstone grace, and it does not raise the epoch (reaper.go in
// node/repair).
type epochs struct {
	store Store
	mu    sync.Mutex // serialises raises
	gen   []atomic.Uint64
	// minted says a dot may have been minted in the partition with its
	// current epoch; true after start, when nothing is known.
	minted []atomic.Bool
}

func metaEpoch(p int) string { return "node/epoch/" + strconv.Itoa(p) }

func openEpochs(s Store, partitions int) (*epochs, error) {
	e := &epochs{store: s, gen: make([]atomic.Uint64, partitions), minted: make([]atomic.Bool, partitions)}
	for p := range partitions {
		e.minted[p].Store(true)
		b, err := s.GetMeta(metaEpoch(p))
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("read epoch of partition %d: %w", p, err)
		case len(b) != 8:
			return nil, fmt.Errorf("epoch of partition %d: %d bytes, want 8", p, len(b))
		}
		e.gen[p].Store(binary.BigEndian.Uint64(b))
	}
	return e, nil
}

// actor is the actor to mint with in partition p. It must be called inside
// the key's update, so that a forget of the same key is ordered before or
// after the whole mint.
func (e *epochs) actor(base string, p int) string {
	e.minted[p].Store(true)
	g := e.gen[p].Load()
	if g == 0 {
		return base
	}
	return base + "/" + strconv.FormatUint(g, 10)
}

// beforeForget raises p's epoch if this replica may have minted in p since
// it was last raised; it must return before the key is deleted.
func (e *epochs) beforeForget(p int) error {
	if !e.minted[p].Load() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.minted[p].Load() {
		return nil
	}
	next := e.gen[p].Load() + 1
	if err := e.store.PutMeta(metaEpoch(p), binary.BigEndian.AppendUint64(nil, next)); err != nil {
		return fmt.Errorf("raise epoch of partition %d: %w", p, err)
	}
	// Cleared before the new epoch shows, so that a mint that reads it
	// marks it used again.
	e.minted[p].Store(false)
	e.gen[p].Store(next)
	return nil
}
