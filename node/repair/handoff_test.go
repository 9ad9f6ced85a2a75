package repair

import (
	"slices"
	"testing"

	"github.com/dynkv/dynkv/bucket"
)

// A handoff pass scans only the key ranges that may hold keys to move:
// all of a partition this node does not replicate (or while it leaves),
// and otherwise only the buckets whose N is at most its rank.
func TestHandoffScansOnlyWhatMayMove(t *testing.T) {
	limits := bucket.Limits{N: 3, R: 2, W: 2, MaxSiblings: 100, MaxValueBytes: 1 << 20}
	var reg bucket.Registry
	reg, _, _ = reg.Set("pairs", bucket.Props{N: 2}, "n1")
	reg, _, _ = reg.Set("carts", bucket.Props{N: 3}, "n1")
	reg, _, _ = reg.Set("single", bucket.Props{N: 1}, "n1")
	table := bucket.NewTable(reg, limits)
	// The default bucket raised above the cluster's N: buckets without
	// props keep the cluster's, so at rank 3 they must move and it stays.
	raised, _, _ := reg.Set(bucket.Default, bucket.Props{N: 4}, "n1")
	whole, named := [][]byte{nil}, [][]byte{{0}}
	rp := &Repair{}
	for _, tc := range []struct {
		name  string
		table *bucket.Table
		rank  int
		want  [][]byte
	}{
		{"not in the walk", table, -1, whole},
		{"past every N", table, 3, whole},
		{"first replica", table, 0, nil},
		{"second replica", table, 1, [][]byte{bucket.Prefix("single")}},
		{"third replica", table, 2, [][]byte{bucket.Prefix("pairs"), bucket.Prefix("single")}},
		{"default raised, fourth replica", bucket.NewTable(raised, limits), 3, named},
	} {
		h := &partitionHandoff{rp: rp, table: tc.table, rank: tc.rank}
		if got := h.scanPrefixes(); !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("%s (rank %d): scans %q, want %q", tc.name, tc.rank, got, tc.want)
		}
	}
	rp.leaving.Store(true)
	h := &partitionHandoff{rp: rp, table: table, rank: 0}
	if got := h.scanPrefixes(); !slices.EqualFunc(got, whole, slices.Equal) {
		t.Errorf("leaving: scans %q, want all of the partition", got)
	}
}
