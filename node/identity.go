package node

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/dynkv/dynkv/store"
)

// Metadata names in the store's meta keyspace.
const (
	metaNodeID      = "node/id"
	metaPartitions  = "node/partitions"
	metaIncarnation = "node/incarnation"
	metaClean       = "node/clean-shutdown"
)

// identity is what a data directory knows of the node that owns it.
type identity struct {
	// actor names the dots this node mints. It includes an incarnation that
	// changes after any shutdown that was not clean, so that a node that lost
	// unsynced writes (power loss) or its whole directory can never mint a
	// dot again that another replica already holds for a different value.
	actor string
}

// loadIdentity checks the data directory against cfg and chooses this run's
// incarnation. It must run before the node serves anything.
func loadIdentity(s *store.Store, nodeID string, partitions int) (identity, error) {
	if err := checkMeta(s, metaNodeID, nodeID); err != nil {
		return identity{}, err
	}
	if err := checkMeta(s, metaPartitions, strconv.Itoa(partitions)); err != nil {
		return identity{}, err
	}
	inc, err := s.GetMeta(metaIncarnation)
	switch {
	case errors.Is(err, store.ErrNotFound):
		inc = nil
	case err != nil:
		return identity{}, fmt.Errorf("read incarnation: %w", err)
	}
	_, cleanErr := s.GetMeta(metaClean)
	clean := cleanErr == nil
	if inc == nil || !clean {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return identity{}, fmt.Errorf("draw incarnation: %w", err)
		}
		inc = []byte(hex.EncodeToString(b[:]))
		if err := s.PutMeta(metaIncarnation, inc); err != nil {
			return identity{}, fmt.Errorf("store incarnation: %w", err)
		}
	}
	// From here on a crash must count as unclean.
	if clean {
		if err := s.DeleteMeta(metaClean); err != nil {
			return identity{}, fmt.Errorf("clear clean-shutdown mark: %w", err)
		}
	}
	return identity{actor: nodeID + "." + string(inc)}, nil
}

// markCleanShutdown records, durably, that every write of this incarnation
// reached the store, so the next start may keep the incarnation.
func markCleanShutdown(s *store.Store) error {
	if err := s.Sync(); err != nil {
		return fmt.Errorf("sync before clean shutdown: %w", err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], 1)
	return s.PutMeta(metaClean, b[:])
}

// checkMeta stores want under name on first use and refuses a mismatch.
func checkMeta(s *store.Store, name, want string) error {
	got, err := s.GetMeta(name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := s.PutMeta(name, []byte(want)); err != nil {
			return fmt.Errorf("store %s: %w", name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", name, err)
	case string(got) != want:
		return fmt.Errorf("data directory has %s=%q but the configuration says %q; this cannot change for a cluster's (or a data directory's) life", name, got, want)
	}
	return nil
}
