package replica

import (
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/store"
)

// metaBuckets names the bucket registry's record in the store's metadata
// keyspace: the registry's canonical encoding (bucket.Registry.Encode).
const metaBuckets = "cluster/buckets"

// LoadBucketRegistry returns the bucket registry this data directory last
// saved, empty when it never saved one.
//
// A record that does not decode is an error, never an empty registry.
// Starting from empty would not be safe: until a peer re-sent its
// registry this node would serve every named bucket with the defaults (a
// different N places replicas on other nodes, siblings instead of lww
// keeps what lww drops), and a PUT here would take a version below the
// lost ones and silently lose to them (docs/GUARANTEES.md, "Buckets").
// DecodeRegistry refuses unknown fields, so the likely cause is a data
// directory written by a newer version, whose props this one cannot honor.
func (r *Replica) LoadBucketRegistry() (bucket.Registry, error) {
	b, err := r.store.GetMeta(metaBuckets)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return bucket.Registry{}, nil
	case err != nil:
		return bucket.Registry{}, fmt.Errorf("read the bucket registry (metadata %q): %w", metaBuckets, err)
	}
	reg, err := bucket.DecodeRegistry(b)
	if err != nil {
		return bucket.Registry{}, fmt.Errorf("the data directory's bucket registry (metadata %q, %d bytes) does not decode, "+
			"perhaps written by a newer dynkv: %w", metaBuckets, len(b), err)
	}
	return reg, nil
}

// SaveBucketRegistry stores reg as the data directory's bucket registry,
// replacing the previous one. Metadata writes are synced (package store),
// so a registry saved before a change is applied survives a crash.
func (r *Replica) SaveBucketRegistry(reg bucket.Registry) error {
	if err := r.store.PutMeta(metaBuckets, reg.Encode()); err != nil {
		return fmt.Errorf("save the bucket registry (%d buckets): %w", reg.Len(), err)
	}
	return nil
}
