package replica

import (
	"strings"
	"testing"

	"github.com/dynkv/dynkv/bucket"
)

// The registry survives a reopen; a damaged record is an error naming it,
// never an empty registry (buckets_meta.go).
func TestBucketRegistryPersists(t *testing.T) {
	dir := t.TempDir()
	r := openTestReplica(t, dir)
	if reg, err := r.LoadBucketRegistry(); err != nil || reg.Len() != 0 {
		t.Fatalf("fresh directory: %v %v", reg.Names(), err)
	}
	reg, _, err := bucket.Registry{}.Set("carts", bucket.Props{N: 2, Conflict: bucket.LWW}, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveBucketRegistry(reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = openTestReplica(t, dir)
	defer r.Close()
	got, err := r.LoadBucketRegistry()
	if err != nil || !got.Equal(reg) {
		t.Fatalf("after reopen: %s %v, want %s", got.Encode(), err, reg.Encode())
	}
	if err := r.store.PutMeta(metaBuckets, []byte(`{"buckets":{"x":{"props":{"n":99}}}}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := r.LoadBucketRegistry(); err == nil || !strings.Contains(err.Error(), metaBuckets) || got.Len() != 0 {
		t.Fatalf("damaged record: %v %v", got.Names(), err)
	}
}
