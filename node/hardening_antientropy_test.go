package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/store"
)

// aeKeyPair returns two keys of one partition, first < second: an
// exchange meets first before second.
func aeKeyPair(n *Node) (first, second []byte, partition int) {
	r := n.cluster.View().Ring
	seen := map[int][]byte{}
	for i := 0; ; i++ {
		k := []byte(fmt.Sprintf("ae-%04d", i))
		p := r.PartitionOf(k)
		if prev, ok := seen[p]; ok {
			return prev, k, p // keys are generated in ascending order
		}
		seen[p] = k
	}
}

// aeStaleVictim writes first and second on all three nodes, then a newer
// value of each on nodes 0 and 1 only (through their replicas, so no
// replication in the background can reach node 2): node 2 holds both keys
// stale, as after missed writes whose hints were lost.
func aeStaleVictim(t *testing.T, c *LocalCluster, first, second []byte) {
	t.Helper()
	for _, k := range [][]byte{first, second} {
		res, err := c.Node(0).Put(t.Context(), WriteRequest{Key: k, Value: []byte("old"), W: 3})
		if err != nil {
			t.Fatal(err)
		}
		minted, err := c.Node(0).replica.Mint(wire.WriteRequest{Key: k, Context: res.Context, Value: append([]byte("new-"), k...)})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Node(1).replica.Merge(k, minted.Set); err != nil {
			t.Fatal(err)
		}
	}
}

// aeTreesReady waits until every node has built the tree of every
// partition it replicates: an exchange skips a partition without one.
func aeTreesReady(t *testing.T, c *LocalCluster) {
	t.Helper()
	eventually(t, 10*time.Second, "every Merkle tree is built", func() bool {
		for i := range c.Size() {
			n := c.Node(i)
			if n.replica.TreesReady() != len(n.cluster.View().Ring.PartitionsOf(NodeID(i))) {
				return false
			}
		}
		return true
	})
}

// aeLog collects a cluster's log lines; slog handlers may write from
// several goroutines.
type aeLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *aeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *aeLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), substr)
}

// aeRefuseKey is a node whose internode answers refuse one key, as a
// replica that cannot decode its record of it would.
type aeRefuseKey struct {
	*Node
	key []byte
}

func (h aeRefuseKey) HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
	var key []byte
	switch op {
	case wire.OpRead:
		req, err := wire.DecodeReadRequest(body)
		key = req.Key
		if err != nil {
			return nil, err
		}
	case wire.OpMerge:
		req, err := wire.DecodeMergeRequest(body)
		key = req.Key
		if err != nil {
			return nil, err
		}
	}
	if bytes.Equal(key, h.key) {
		return nil, &wire.RemoteError{Code: wire.CodeInternal, Message: "injected: cannot decode the stored record"}
	}
	return h.Node.HandleInternode(ctx, op, body)
}

// One key that cannot be repaired used to end its partition's exchange at
// once (logged at Debug, counted as repaired): every later difference in
// the partition waited. Now the exchange repairs the rest, counts the key
// (metric, status), logs one WARN line and counts itself failed.
func TestAntiEntropyRepairsPastAKeyItCannotRepair(t *testing.T) {
	logs := &aeLog{}
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: manualLoops,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	const victim = 2
	bad, stale, _ := aeKeyPair(c.Node(0))
	aeStaleVictim(t, c, bad, stale)
	for i := range victim {
		c.Net.Register(NodeID(i), aeRefuseKey{Node: c.Node(i), key: bad})
	}
	n := c.Node(victim)
	aeTreesReady(t, c)
	st, err := n.AntiEntropyOnce(t.Context())
	if !holds(n, stale, "new-"+string(stale)) {
		t.Fatalf("the key after the failing one was not repaired: %+v, %v", st, err)
	}
	if err == nil || st.KeyFailures == 0 {
		t.Fatalf("pass with a failing key: %+v, err %v; want key failures and an error", st, err)
	}
	status := n.Status().AntiEntropy
	if status.KeyFailures != int64(st.KeyFailures) || status.Exchanges["failed"] == 0 {
		t.Fatalf("status %+v after %d key failures", status, st.KeyFailures)
	}
	if warns := logs.count("level=WARN msg=\"anti-entropy could not repair some keys"); int64(warns) != status.Exchanges["failed"] {
		t.Fatalf("%d WARN lines for %d failed exchanges; want one each", warns, status.Exchanges["failed"])
	}
	metrics, err := n.metrics.exposition()
	if err != nil || !bytes.Contains(metrics, fmt.Appendf(nil, "dynkv_antientropy_key_failures_total %d\n", st.KeyFailures)) {
		t.Fatalf("metric missing (%v):\n%s", err, metrics)
	}
	for i := range victim {
		c.Net.Register(NodeID(i), c.Node(i))
	}
	if st, err := n.AntiEntropyOnce(t.Context()); err != nil || !holds(n, bad, "new-"+string(bad)) {
		t.Fatalf("once the peers answer, the key is repaired: %+v, %v", st, err)
	}
}

// A record that no longer decodes used to fail every read, write and
// exchange of its key, and stop anti-entropy for its partition. Now the
// replica sets it aside (quarantine keyspace, ERROR log, metric) and
// treats the key as absent: anti-entropy repairs the rest of the partition
// and restores the key from the other replicas.
func TestCorruptRecordIsQuarantinedAndHeals(t *testing.T) {
	logs := &aeLog{}
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: manualLoops,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	const victim = 2
	bad, stale, p := aeKeyPair(c.Node(0))
	aeStaleVictim(t, c, bad, stale)
	if err := c.Stop(victim); err != nil {
		t.Fatal(err)
	}
	aeCorrupt(t, c.DataDir(victim), p, bad)
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	n := c.Node(victim)
	settle(t, c, 10*time.Second, "anti-entropy repairs the partition of a corrupt record", func() bool {
		return holds(n, stale, "new-"+string(stale)) && holds(n, bad, "new-"+string(bad))
	})
	if n.replica.Quarantined() != 1 || logs.count("level=ERROR msg=\"stored record does not decode") != 1 {
		t.Fatalf("quarantined %d records, logged %d; want 1", n.replica.Quarantined(), logs.count("level=ERROR"))
	}
	metrics, err := n.metrics.exposition()
	if err != nil || !bytes.Contains(metrics, []byte("dynkv_quarantined_records_total 1\n")) {
		t.Fatalf("metric missing (%v):\n%s", err, metrics)
	}
	// The key works through the node that had the corrupt record.
	read, err := n.Get(t.Context(), bad, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Put(t.Context(), WriteRequest{Key: bad, Value: []byte("after"), Context: read.Set.Context}); err != nil {
		t.Fatalf("write after the repair: %v", err)
	}
	if got, err := n.Get(t.Context(), bad, 3); err != nil || len(got.Set.Live(0)) != 1 || string(got.Set.Live(0)[0].Value) != "after" {
		t.Fatalf("read after the repair: %v, %v", got.Set, err)
	}
}

// aeCorrupt overwrites key's record in a stopped node's store with bytes
// that do not decode.
func aeCorrupt(t *testing.T, dir string, partition int, key []byte) {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir, MemTableSize: 1 << 20, ValueLogFileSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(uint16(partition), key, func([]byte, bool) ([]byte, error) { return []byte{1, 1, 3, 'b', 'a', 'd', 0xff}, nil })
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
