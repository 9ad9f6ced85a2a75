package replica

import (
	"github.com/dynkv/dynkv/store"
)

// Store is what a replica needs of its database; *store.Store is the
// production one, and its contract (store.Update's fn rules, ErrNotFound,
// ErrNoChange) is the one a fake must follow.
type Store interface {
	Get(partition uint16, key []byte) ([]byte, error)
	Update(partition uint16, key []byte, fn func(old []byte, exists bool) ([]byte, error)) error
	Scan(partition uint16, fn func(key, value []byte) error) error
	ScanFrom(partition uint16, prefix, after []byte, fn func(key, value []byte) error) error
	Count(partition uint16, prefix []byte) (int, error)
	GetMeta(name string) ([]byte, error)
	PutMeta(name string, value []byte) error
	DeleteMeta(name string) error
	Sync() error
	// Size is the database's bytes on disk: its LSM tree and value log.
	Size() (lsm, vlog int64)
	// ApproxKeys estimates its records from the table index.
	ApproxKeys() int64
	// Disk is the free space of its file system against the floor.
	Disk() store.DiskStatus
	Close() error
}

var _ Store = (*store.Store)(nil)

// hintKeyspace holds hints in the node's one database, next to its data.
const hintKeyspace = 'h'

// openStore opens the badger database and its hint keyspace.
func openStore(opts store.Options) (*store.Store, *store.Keyspace, error) {
	s, err := store.Open(opts)
	if err != nil {
		return nil, nil, err
	}
	ks, err := s.Keyspace(hintKeyspace)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, ks, nil
}
