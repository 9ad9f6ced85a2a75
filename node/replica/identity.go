package replica

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

// loadIdentity checks the data directory against cfg and returns this run's
// actor: the name its dots carry. The actor includes an incarnation that
// changes after any shutdown that was not clean, so that a node that lost
// unsynced writes (power loss) or its whole directory can never mint a dot
// again that another replica already holds for a different value.
func loadIdentity(s Store, nodeID string, partitions int) (string, error) {
	if err := checkMeta(s, metaNodeID, nodeID); err != nil {
		return "", err
	}
	if err := checkMeta(s, metaPartitions, strconv.Itoa(partitions)); err != nil {
		return "", err
	}
	inc, err := s.GetMeta(metaIncarnation)
	switch {
	case errors.Is(err, store.ErrNotFound):
		inc = nil
	case err != nil:
		return "", fmt.Errorf("read incarnation: %w", err)
	}
	_, cleanErr := s.GetMeta(metaClean)
	clean := cleanErr == nil
	if inc == nil || !clean {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("draw incarnation: %w", err)
		}
		inc = []byte(hex.EncodeToString(b[:]))
		if err := s.PutMeta(metaIncarnation, inc); err != nil {
			return "", fmt.Errorf("store incarnation: %w", err)
		}
	}
	// From here on a crash must count as unclean.
	if clean {
		if err := s.DeleteMeta(metaClean); err != nil {
			return "", fmt.Errorf("clear clean-shutdown mark: %w", err)
		}
	}
	return nodeID + "." + string(inc), nil
}

// markCleanShutdown records, durably, that every write of this incarnation
// reached the store, so the next start may keep the incarnation.
func markCleanShutdown(s Store) error {
	if err := s.Sync(); err != nil {
		return fmt.Errorf("sync before clean shutdown: %w", err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], 1)
	return s.PutMeta(metaClean, b[:])
}

// checkMeta stores want under name on first use and refuses a mismatch.
func checkMeta(s Store, name, want string) error {
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

// metaLeaving records that a leave was started and not yet finished, so a
// node that crashes while leaving resumes the leave when it starts again.
const metaLeaving = "node/leaving"

// RecordLeaving durably records that this node is leaving the cluster.
func (r *Replica) RecordLeaving() error { return r.store.PutMeta(metaLeaving, []byte{1}) }

// WasLeaving reports whether a leave was recorded.
func (r *Replica) WasLeaving() bool {
	_, err := r.store.GetMeta(metaLeaving)
	return err == nil
}
