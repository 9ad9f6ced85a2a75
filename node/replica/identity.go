package replica

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dynkv/dynkv/store"
)

// Metadata names in the store's meta keyspace.
const (
	metaNodeID      = "node/id"
	metaPartitions  = "node/partitions"
	metaIncarnation = "node/incarnation"
	metaClean       = "node/clean-shutdown"
	metaRun         = "node/run"
)

// runRecord says what the running process could lose if it stopped without
// a clean shutdown: written (synced) at every start.
type runRecord struct {
	// Boot identifies the operating system's boot the process ran in ("":
	// unknown).
	Boot string `json:"boot"`
	// SyncWrites reports whether every write was fsynced before it returned.
	SyncWrites bool `json:"sync_writes"`
}

// loadIdentity checks the data directory against cfg and returns this run's
// actor: the name its dots carry.
//
// One actor serves a data directory for as long as no dot it minted can have
// been lost, so that contexts do not grow with restarts. A returned write is
// in badger's memory-mapped logs, so a process that dies (kill -9, panic, OOM
// kill) loses none of it while the kernel lives; only a power loss or kernel
// crash — a new boot — can lose the writes since the last fsync, and only
// when writes were not synced. After an unclean stop followed by a new boot
// (or an unknown one) without SyncWrites, the node draws a new incarnation:
// it cannot know which dots it minted and lost, and minting one of them again
// for a different value would lose a write that other replicas hold
// (docs/GUARANTEES.md, G2). A wiped directory gets a new incarnation too.
func loadIdentity(s Store, nodeID string, partitions int, now runRecord) (string, error) {
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
	last, err := lastRun(s)
	if err != nil {
		return "", err
	}
	if inc == nil || (!clean && mayHaveLostWrites(last, now)) {
		if inc, err = newIncarnation(); err != nil {
			return "", err
		}
		if err := s.PutMeta(metaIncarnation, inc); err != nil {
			return "", fmt.Errorf("store incarnation: %w", err)
		}
	}
	rec, _ := json.Marshal(now) // a struct of a string and a bool always marshals
	if err := s.PutMeta(metaRun, rec); err != nil {
		return "", fmt.Errorf("store run record: %w", err)
	}
	// From here on a crash must count as unclean.
	if clean {
		if err := s.DeleteMeta(metaClean); err != nil {
			return "", fmt.Errorf("clear clean-shutdown mark: %w", err)
		}
	}
	return nodeID + "." + string(inc), nil
}

// mayHaveLostWrites reports whether a run that stopped uncleanly can have
// lost returned writes: only if they were not synced and the kernel that
// held them in its page cache is gone (or either boot is unknown).
func mayHaveLostWrites(last *runRecord, now runRecord) bool {
	if last == nil {
		return true // written by a version that kept no record
	}
	if last.SyncWrites {
		return false
	}
	return last.Boot == "" || now.Boot == "" || last.Boot != now.Boot
}

func lastRun(s Store) (*runRecord, error) {
	b, err := s.GetMeta(metaRun)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read run record: %w", err)
	}
	var r runRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil // unreadable: treated as unknown, so the safe way
	}
	return &r, nil
}

func newIncarnation() ([]byte, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("draw incarnation: %w", err)
	}
	return []byte(hex.EncodeToString(b[:])), nil
}

// bootIDFile is where Linux names the running boot: a random UUID drawn at
// every boot.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// OSBootID identifies the running boot of the operating system, or returns
// "" where it cannot (then every unclean stop counts as a possible loss).
func OSBootID() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
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
