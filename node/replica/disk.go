package replica

import (
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/store"
)

// A replica whose disk is below the store's free-space floor refuses every
// write (mints, merges, hints) with insufficient_storage and keeps serving
// reads; the coordinator asks another replica instead, as it would a
// failed one. A damaged data directory keeps the replica from opening.

// refuseFull turns the store's refusal of a write for want of disk space
// into the refusal peers and this node's coordinator understand. Nothing
// was stored.
func refuseFull(err error) error {
	if err != nil && errors.Is(err, store.ErrInsufficientStorage) {
		return &wire.RemoteError{Code: wire.CodeInsufficientStorage, Message: err.Error()}
	}
	return err
}

// Disk is the free space of the file system holding the store, against the
// floor.
func (r *Replica) Disk() store.DiskStatus { return r.store.Disk() }

// ApproxKeys estimates the records in the store (store.Store.ApproxKeys).
func (r *Replica) ApproxKeys() int64 { return r.store.ApproxKeys() }

// explainOpen adds the way out to the error of a data directory the store
// found damaged: the replica's copy is rebuilt from the other replicas, so
// the directory can go.
func explainOpen(err error, dir string) error {
	if !errors.Is(err, store.ErrDamaged) {
		return err
	}
	return fmt.Errorf("%w. The node will not start on a damaged data directory: stop it, move %s aside (or delete it) and start the node again with the same --node-id; it starts empty, and anti-entropy and read repair copy its keys back from the other replicas (with N=1, or keys no other replica holds, restore them from a backup)", err, dir)
}
